#!/usr/bin/env python3
"""The Qdrant example plus its Prometheus metrics, read through the gateway.

    python3 examples/qdrant_simple_example_with_metrics.py [--gateway URL]

The metrics are Qdrant's own (collections_total, rest_responses_total, ...)
with `service_id` and `replica_id` labels added to every sample.
"""

from _client import Gateway, check, parse_args, run, sample_lines, say
from qdrant_simple_example import (
    add_arguments,
    create_collection,
    create_service,
    delete_collection,
    fill_and_search,
    wait_until_ready,
)

SHOWN_SAMPLES = 8


def show_metrics(gateway, service_id):
    path = f"/vector-db/{service_id}/metrics"
    say(f"GET {path}")
    text = gateway.get(path)
    check(isinstance(text, str), f"{path} did not answer Prometheus text")
    label = f'service_id="{service_id}"'
    # aiplane_* samples are the gateway's own; the rest are Qdrant's.
    samples = [
        line
        for line in sample_lines(text)
        if not line.startswith("aiplane_")
    ]
    check(samples, f"{path} has no Qdrant samples:\n{text[:2000]}")
    for line in samples[:SHOWN_SAMPLES]:
        say(f"  {line}")
    say(f"  ... {len(samples)} Qdrant samples in all")
    check(
        all(label in line for line in samples),
        f"some samples of {path} lack the label {label}",
    )
    say(f"  every sample carries {label}")
    collections = [
        line for line in samples if line.startswith("collections_total")
    ]
    check(collections, f"{path} has no collections_total sample")
    say(f"  {collections[0]}")


def main():
    args = parse_args(__doc__.splitlines()[0], add_arguments)
    gateway = Gateway(args.gateway)
    say(f"Gateway: {gateway.base}")
    created_id = None
    service_id = args.service_id
    try:
        if service_id is None:
            created_id = service_id = create_service(gateway)
        wait_until_ready(gateway, service_id, args.timeout)
        create_collection(gateway, service_id)
        try:
            fill_and_search(gateway, service_id)
            # While the collection exists, so that it is counted.
            show_metrics(gateway, service_id)
        finally:
            delete_collection(gateway, service_id)
    finally:
        if created_id is not None:
            gateway.cancel_service(created_id)


if __name__ == "__main__":
    run(main)
