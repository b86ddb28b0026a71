#!/usr/bin/env python3
"""The official openai client against the gateway: list models, chat, stream, complete, embed.

    python3 -m venv venv && venv/bin/pip install openai
    venv/bin/python examples/openai_example.py [--gateway URL]

Creates a chat model and an embedding model, uses both through the
unmodified SDK (only its base_url points at <gateway>/v1; the local gateway
accepts any API key), and cancels both. Needs the `openai` package; the rest
of the examples use the standard library only.
"""

from _client import ExampleError, Gateway, check, parse_args, run, say

try:
    import openai
except ImportError as missing:  # say how to get it rather than print a traceback
    raise SystemExit(
        "this example needs the openai package: pip install openai"
    ) from missing

RECIPE = "inference/vllm-single-node"


def add_arguments(parser):
    parser.add_argument(
        "--model",
        default="Qwen/Qwen2.5-0.5B-Instruct",
        help="the chat model to serve",
    )
    parser.add_argument(
        "--embedding-model",
        default="BAAI/bge-small-en-v1.5",
        help="the embedding model to serve",
    )
    parser.add_argument(
        "--prompt",
        default="Tell me a joke about programming",
        help="what to ask",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=32,
        help="tokens to generate at most (default: 32)",
    )


def openai_base_url(gateway):
    """<gateway>/v1, whether or not the gateway URL ends with /api/v1."""
    base = gateway.rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/api/v1")]
    return base + "/v1"


def use_models(client, model, embedding_model, prompt, max_tokens):
    say("Models:")
    models = client.models.list().data
    for entry in models:
        extra = entry.model_extra or {}
        say(
            f"  {entry.id}: {extra.get('status', '?')}, "
            f"{extra.get('ready_replicas', '?')} ready"
        )
    check(
        any(entry.id == model for entry in models),
        f"{model} is not listed: {[entry.id for entry in models]}",
    )

    say(f"Chat: {prompt!r}")
    chat = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
    )
    answer = chat.choices[0].message.content or ""
    check(answer, f"the chat answer has no text: {chat}")
    say(f"  {answer.strip()}")
    say(
        f"  usage: {chat.usage.prompt_tokens} + "
        f"{chat.usage.completion_tokens} tokens"
    )

    say("Chat, streamed:")
    chunks = 0
    streamed = ""
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        stream=True,
    )
    for chunk in stream:
        chunks += 1
        if chunk.choices and chunk.choices[0].delta.content:
            streamed += chunk.choices[0].delta.content
    check(chunks > 1 and streamed, f"the stream brought {chunks} chunks")
    say(f"  {chunks} chunks: {streamed.strip()}")

    say("Completion:")
    completion = client.completions.create(
        model=model, prompt="Once upon a time", max_tokens=max_tokens
    )
    text = completion.choices[0].text
    check(text, f"the completion has no text: {completion}")
    say(f"  {text.strip()}")

    say(f"Embeddings ({embedding_model}):")
    embeddings = client.embeddings.create(
        model=embedding_model,
        input=["The quick brown fox", "jumps over the lazy dog"],
    )
    check(
        len(embeddings.data) == 2,
        f"expected 2 vectors, got {len(embeddings.data)}",
    )
    for item in embeddings.data:
        head = ", ".join(f"{value:.4f}" for value in item.embedding[:3])
        say(f"  #{item.index}: {len(item.embedding)} dimensions [{head}, ...]")


def main():
    args = parse_args(__doc__.splitlines()[0], add_arguments)
    gateway = Gateway(args.gateway)
    client = openai.OpenAI(
        base_url=openai_base_url(args.gateway), api_key="unused-locally"
    )
    say(f"OpenAI base URL: {client.base_url}")
    created = []
    try:
        say(f"Creating a service for {args.model} and one for {args.embedding_model}...")
        for served in (args.model, args.embedding_model):
            service = gateway.create_service(
                RECIPE, {"environment": {"VLLM_MODEL": served}}
            )
            created.append(service["id"])
            say(f"  {served}: service {service['id']}, {service['status']}")
        for service_id in created:
            gateway.wait_for_service(service_id, args.timeout)
        failure = None
        try:
            use_models(
                client,
                args.model,
                args.embedding_model,
                args.prompt,
                args.max_tokens,
            )
        except openai.APIError as error:
            # The SDK's typed errors carry the gateway's OpenAI-shaped answer.
            failure = f"{type(error).__name__}: {error}"
        # Raised outside the except block, so it is not reported as a second failure.
        if failure is not None:
            raise ExampleError(failure)
    finally:
        # Every service is cancelled even if cancelling another one failed.
        failures = []
        for service_id in created:
            try:
                gateway.cancel_service(service_id)
            except ExampleError as error:
                failures.append(error)
        if failures:
            raise failures[0]


if __name__ == "__main__":
    run(main)
