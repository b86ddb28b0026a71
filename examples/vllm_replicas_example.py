#!/usr/bin/env python3
"""Create a group of vLLM replicas and watch prompts spread over them.

    python3 examples/vllm_replicas_example.py [--gateway URL]

The default inference/vllm-replicas recipe runs 4 replicas (4 GPUs, 1 GPU
per replica) on one node. Prompts sent to the group are routed round-robin
over its healthy replicas; `routed_to` names the one that answered
(`<job_id>:<port>`). The group is cancelled at the end.
"""

from collections import Counter

from _client import Gateway, check, parse_args, run, say

RECIPE = "inference/vllm-replicas"


def add_arguments(parser):
    parser.add_argument(
        "--gpu-per-replica",
        type=int,
        help="GPUs per replica (default: the recipe's, 1: 4 replicas)",
    )
    parser.add_argument(
        "--prompts", type=int, default=8, help="prompts to send (default: 8)"
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=32,
        help="tokens to generate per prompt at most (default: 32)",
    )


def print_group_status(status):
    say(
        f"Group {status['group_id']}: {status['overall_status']}, "
        f"{status['healthy_replicas']}/{status['total_replicas']} healthy, "
        f"{status['starting_replicas']} starting, "
        f"{status['pending_replicas']} pending, "
        f"{status['failed_replicas']} failed"
    )
    for replica in status["replica_statuses"]:
        say(
            f"  {replica['id']:16} {replica['status']:12} "
            f"{replica['endpoint']}"
        )


def main():
    args = parse_args(__doc__.splitlines()[0], add_arguments)
    gateway = Gateway(args.gateway)
    say(f"Gateway: {gateway.base}")

    config = None
    if args.gpu_per_replica is not None:
        config = {"gpu_per_replica": args.gpu_per_replica}
    say(f"Creating a replica group from recipe {RECIPE}...")
    group = gateway.create_service(RECIPE, config)
    group_id = group["id"]
    try:
        say(
            f"  id {group_id}: {group['total_replicas']} replicas, "
            f"{group['gpu_per_replica']} GPU(s) each, ports from "
            f"{group['base_port']}"
        )
        say(f"Waiting for every replica of {group_id} to be ready...")
        status = gateway.wait_for_group(group_id, args.timeout)
        print_group_status(status)
        replicas = {replica["id"] for replica in status["replica_statuses"]}

        say(f"Sending {args.prompts} prompts to the group...")
        routed = []
        for number in range(1, args.prompts + 1):
            answer = gateway.post(
                f"/vllm/{group_id}/prompt",
                {
                    "prompt": f"Prompt {number}: name a prime number",
                    "max_tokens": args.max_tokens,
                },
            )
            check(
                answer.get("success") is True and "routed_to" in answer,
                f"prompt failed: {answer}",
            )
            routed.append(answer["routed_to"])
            text = " ".join(answer["text"].split())[:50].rstrip()
            say(f"  #{number} routed_to {answer['routed_to']:16} {text}")

        counts = sorted(Counter(routed).items())
        per_replica = ", ".join(f"{rid}={count}" for rid, count in counts)
        say(f"Prompts per replica: {per_replica}")
        check(
            set(routed) <= replicas,
            f"a prompt was routed outside the group: {set(routed) - replicas}",
        )
        if args.prompts >= len(replicas):
            check(
                set(routed) == replicas,
                f"round-robin skipped a healthy replica: "
                f"{sorted(replicas - set(routed))}",
            )

        print_group_status(gateway.get(f"/service-groups/{group_id}/status"))
    finally:
        gateway.cancel_group(group_id)


if __name__ == "__main__":
    run(main)
