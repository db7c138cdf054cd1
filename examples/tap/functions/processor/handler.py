"""tap's processor: stores each event it is given as a JSON object in the stack's bucket."""

import json
import os
import uuid

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    key = f"events/{uuid.uuid4()}.json"
    s3.put_object(
        Bucket=os.environ["BUCKET_NAME"],
        Key=key,
        Body=json.dumps(event).encode(),
        ContentType="application/json",
    )
    return {"statusCode": 200, "environment": os.environ["ENVIRONMENT"], "key": key}
