#!/usr/bin/env python3
"""Create a vLLM service, wait until it serves, send one prompt, cancel it.

    python3 examples/vllm_simple_example.py [--gateway URL] [--model gpt2]

Pass --service-id to prompt a service that is already running instead; it
is then left running.
"""

from _client import Gateway, check, parse_args, run, say

RECIPE = "inference/vllm-single-node"


def add_arguments(parser):
    parser.add_argument(
        "--service-id", help="use this running service instead of creating one"
    )
    parser.add_argument(
        "--model",
        help="Hugging Face model id (default: the recipe's, "
        "Qwen/Qwen2.5-0.5B-Instruct)",
    )
    parser.add_argument(
        "--prompt",
        default="Tell me a joke about programming",
        help="the prompt to send",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=100,
        help="tokens to generate at most (default: 100)",
    )


def create_service(gateway, model=None):
    """Submits the job; the service is `pending` until SLURM starts it."""
    config = {"environment": {"VLLM_MODEL": model}} if model else None
    say(f"Creating a service from recipe {RECIPE}...")
    service = gateway.create_service(RECIPE, config)
    say(f"  id {service['id']}, name {service['name']}, {service['status']}")
    return service["id"]


def wait_until_ready(gateway, service_id, timeout):
    say(f"Waiting for service {service_id} to be ready...")
    gateway.wait_for_service(service_id, timeout)
    record = gateway.get(f"/services/{service_id}")
    say(f"  serving at {record['endpoint']}")


def send_prompt(gateway, service_id, prompt, max_tokens):
    say(f"Prompt: {prompt!r}")
    answer = gateway.post(
        f"/vllm/{service_id}/prompt",
        {"prompt": prompt, "max_tokens": max_tokens},
    )
    check(answer.get("success") is True, f"prompt failed: {answer}")
    check(answer.get("text"), f"the answer has no text: {answer}")
    usage = answer["usage"]
    say(f"Answer ({answer['model']}, {answer['endpoint_used']} API):")
    say(f"  {answer['text'].strip()}")
    say(
        f"Usage: {usage['prompt_tokens']} prompt + "
        f"{usage['completion_tokens']} completion = "
        f"{usage['total_tokens']} tokens"
    )
    return answer


def main():
    args = parse_args(__doc__.splitlines()[0], add_arguments)
    gateway = Gateway(args.gateway)
    say(f"Gateway: {gateway.base}")
    created_id = None
    try:
        service_id = args.service_id
        if service_id is None:
            created_id = service_id = create_service(gateway, args.model)
        wait_until_ready(gateway, service_id, args.timeout)
        send_prompt(gateway, service_id, args.prompt, args.max_tokens)
    finally:
        # Cancel only what this script created; the record stays.
        if created_id is not None:
            gateway.cancel_service(created_id)


if __name__ == "__main__":
    run(main)
