"""The Python `openai` SDK, unmodified, against the gateway's /v1.

Run by tests/e2e/openai-sdk.e2e-spec.ts in the venv of
tools/infra/python-venv.sh. Prints one JSON line that the spec asserts on;
any unexpected exception exits non-zero with its traceback.
"""

import argparse
import json
import math

import openai


def error_summary(call):
    """The typed exception a call raised: its class, status, code, Retry-After."""
    try:
        call()
    except openai.APIStatusError as error:
        return {
            "type": type(error).__name__,
            "status": error.status_code,
            "code": getattr(error, "code", None),
            "retry_after": error.response.headers.get("retry-after"),
        }
    raise AssertionError("the call was expected to fail")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--chat-model", required=True)
    parser.add_argument("--embedding-model", required=True)
    parser.add_argument("--waiting-model", required=True)
    args = parser.parse_args()
    # Any key: the local gateway accepts it; no retries, so a 503 surfaces.
    client = openai.OpenAI(base_url=args.base_url, api_key="sk-anything", max_retries=0)
    messages = [{"role": "user", "content": "Say hello"}]
    report = {}

    report["models"] = [
        {
            "id": model.id,
            "status": (model.model_extra or {}).get("status"),
            "services": (model.model_extra or {}).get("services"),
            "ready_replicas": (model.model_extra or {}).get("ready_replicas"),
        }
        for model in client.models.list().data
    ]

    chat = client.chat.completions.create(
        model=args.chat_model, messages=messages, max_tokens=8
    )
    report["chat_text"] = bool((chat.choices[0].message.content or "").strip())

    chunks = list(
        client.chat.completions.create(
            model=args.chat_model, messages=messages, max_tokens=12, stream=True
        )
    )
    report["stream_chunks"] = len(chunks)
    report["stream_text"] = bool(
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    )
    report["stream_finish_reason"] = chunks[-1].choices[0].finish_reason

    completion = client.completions.create(
        model=args.chat_model, prompt="Once upon a time", max_tokens=8
    )
    report["completion_text"] = bool(completion.choices[0].text.strip())

    texts = ["The quick brown fox", "jumps over the lazy dog"]
    floats = client.embeddings.create(
        model=args.embedding_model, input=texts, encoding_format="float"
    )
    report["embedding_dimensions"] = [len(item.embedding) for item in floats.data]
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    by_default = client.embeddings.create(model=args.embedding_model, input=texts)
    report["embedding_default_equals_float"] = all(
        len(a.embedding) == len(b.embedding)
        and all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-6) for x, y in zip(a.embedding, b.embedding))
        for a, b in zip(floats.data, by_default.data)
    )

    unknown = error_summary(
        lambda: client.chat.completions.create(model="no-such/model", messages=messages)
    )
    report["unknown_model"] = {k: unknown[k] for k in ("type", "status", "code")}
    # The SDK's create() refuses a call without model, so send the body as is.
    missing = error_summary(
        lambda: client.post(
            "/chat/completions", body={"messages": messages}, cast_to=object
        )
    )
    report["missing_model"] = {k: missing[k] for k in ("type", "status")}
    not_ready = error_summary(
        lambda: client.chat.completions.create(
            model=args.waiting_model, messages=messages
        )
    )
    report["not_ready"] = {k: not_ready[k] for k in ("type", "status", "retry_after")}

    print(json.dumps(report))


if __name__ == "__main__":
    main()
