#!/usr/bin/env python3
"""The vLLM example plus its Prometheus metrics, read through the gateway.

    python3 examples/vllm_simple_example_with_metrics.py [--gateway URL]

Both metrics routes answer Prometheus text with `service_id` and
`replica_id` labels added to every sample, ready for a Prometheus scrape.
"""

from _client import Gateway, check, parse_args, run, sample_lines, say
from vllm_simple_example import (
    add_arguments,
    create_service,
    send_prompt,
    wait_until_ready,
)

SHOWN_SAMPLES = 6


def show_metrics(gateway, path, service_id, prefix):
    say(f"GET {path}")
    text = gateway.get(path)
    check(isinstance(text, str), f"{path} did not answer Prometheus text")
    samples = sample_lines(text, prefix)
    check(samples, f"{path} has no {prefix!r} samples:\n{text[:2000]}")
    for line in samples[:SHOWN_SAMPLES]:
        say(f"  {line}")
    say(f"  ... {len(samples)} {prefix!r} samples in all")
    label = f'service_id="{service_id}"'
    check(
        all(label in line for line in samples),
        f"some {prefix!r} samples of {path} lack the label {label}",
    )
    say(f"  every sample carries {label}")


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
        # A prompt first, so the request and token counters are not zero.
        send_prompt(gateway, service_id, args.prompt, args.max_tokens)
        for path in (
            f"/vllm/{service_id}/metrics",
            f"/services/{service_id}/metrics",
        ):
            show_metrics(gateway, path, service_id, "vllm:")
    finally:
        if created_id is not None:
            gateway.cancel_service(created_id)


if __name__ == "__main__":
    run(main)
