#!/usr/bin/env python3
"""Create a Qdrant service, store three documents, search them, clean up.

    python3 examples/qdrant_simple_example.py [--gateway URL]

Pass --service-id to use a Qdrant service that is already running; it is
then left running (the example's collection is still deleted).
"""

from _client import Gateway, check, parse_args, run, say

RECIPE = "vector-db/qdrant"
COLLECTION = "my_documents"
VECTOR_SIZE = 4
# Point ids may be unsigned integers, UUIDs or any other string: the gateway
# keeps a string id such as "readme-intro" and returns it as it was sent.
POINTS = [
    {
        "id": 1,
        "vector": [0.1, 0.2, 0.3, 0.4],
        "payload": {"text": "First document"},
    },
    {
        "id": 2,
        "vector": [0.4, 0.5, 0.6, 0.7],
        "payload": {"text": "Second document"},
    },
    {
        "id": "readme-intro",
        "vector": [0.9, 0.1, 0.0, 0.2],
        "payload": {"text": "A document with a string id"},
    },
]
QUERY = [0.1, 0.2, 0.3, 0.4]


def add_arguments(parser):
    parser.add_argument(
        "--service-id", help="use this running service instead of creating one"
    )


def create_service(gateway):
    say(f"Creating a service from recipe {RECIPE}...")
    service = gateway.create_service(RECIPE)
    say(f"  id {service['id']}, name {service['name']}, {service['status']}")
    return service["id"]


def wait_until_ready(gateway, service_id, timeout):
    say(f"Waiting for service {service_id} to be ready...")
    gateway.wait_for_service(service_id, timeout)
    record = gateway.get(f"/services/{service_id}")
    say(f"  serving at {record['endpoint']}")


def create_collection(gateway, service_id):
    """A 409 here means the collection already exists: it is left alone."""
    say(f"Creating collection {COLLECTION!r} ({VECTOR_SIZE}-d, Cosine)...")
    gateway.put(
        f"/vector-db/{service_id}/collections/{COLLECTION}",
        {"vector_size": VECTOR_SIZE, "distance": "Cosine"},
    )


def fill_and_search(gateway, service_id):
    base = f"/vector-db/{service_id}/collections"
    names = gateway.get(base)["collections"]
    say(f"  collections: {names}")
    check(COLLECTION in names, f"{COLLECTION!r} is not listed: {names}")

    say(f"Upserting {len(POINTS)} points...")
    answer = gateway.put(f"{base}/{COLLECTION}/points", {"points": POINTS})
    say(f"  {answer.get('message')}")

    say(f"Searching for the points nearest to {QUERY}...")
    found = gateway.post(
        f"{base}/{COLLECTION}/points/search",
        {"query_vector": QUERY, "limit": 5},
    )
    results = found["results"]
    for hit in results:
        text = (hit.get("payload") or {}).get("text")
        say(f"  id={hit['id']!r:16} score={hit['score']:.4f} text={text!r}")
    check(
        found["num_results"] == len(POINTS),
        f"expected {len(POINTS)} results, got {found['num_results']}",
    )
    check(results[0]["id"] == 1, f"point 1 should match best: {results}")
    ids = {hit["id"] for hit in results}
    check("readme-intro" in ids, f"the string id did not come back: {ids}")


def delete_collection(gateway, service_id):
    say(f"Deleting collection {COLLECTION!r}...")
    gateway.delete(f"/vector-db/{service_id}/collections/{COLLECTION}")


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
        finally:
            delete_collection(gateway, service_id)
    finally:
        if created_id is not None:
            gateway.cancel_service(created_id)


if __name__ == "__main__":
    run(main)
