#!/usr/bin/python3
"""Builds S3 event documents for the event / watch integration tests.

    make_event.py SHAPE BUCKET:KEY[:NAME] ...      one document on stdout
    make_event.py --test-event                     the s3:TestEvent message

SHAPE (as AWS documents them; see tests/data/events/README.md):
  s3           {"Records":[<S3 record>...]}                 (S3 -> SQS body, S3 -> Lambda)
  lambda-sqs   {"Records":[{"eventSource":"aws:sqs","body":"<s3 doc>"}]}
  receive      {"Messages":[{"Body":"<s3 doc>"}]}          (aws sqs receive-message)
  sns          an SNS Notification envelope, Message = <s3 doc> (S3 -> SNS -> SQS)
  lambda-sqs-sns  the SNS envelope inside a Lambda SQS record
  eventbridge  {"source":"aws.s3","detail-type":"Object Created",...}: one object only
NAME is the eventName of an S3 record (default ObjectCreated:Put). Keys of
S3 notifications are form-URL-encoded as S3 does ('=' -> %3D, ' ' -> '+',
'+' -> %2B, '/' kept); EventBridge keys stay plain.
"""
import json
import sys
import urllib.parse


def enc(key):
    return urllib.parse.quote_plus(key, safe="/")


def s3_record(bucket, key, name):
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2023-01-06T00:05:12.000Z", "eventName": name,
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:iotsitewise"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAt"},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "repart-cold-tier",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": "arn:aws:s3:::" + bucket},
            "object": {"key": enc(key), "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                       "sequencer": "0055AED6DCD90281E5"},
        },
    }


def sns(message):
    return {
        "Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:repart-cold-tier",
        "Subject": "Amazon S3 Notification", "Message": message,
        "Timestamp": "2023-01-06T00:05:13.000Z", "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }


def lambda_sqs(body):
    return {"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975724100", "receiptHandle": "AQEBwJnKyrHigUMZj6r",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1673000000000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1673000000100"},
        "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:repart-events",
        "awsRegion": "us-east-1",
    }]}


def eventbridge(bucket, key):
    return {
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
        "source": "aws.s3", "account": "111122223333", "time": "2023-01-07T06:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:s3:::" + bucket],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                              "sequencer": "617f08299329d189"},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "111122223333",
                   "source-ip-address": "10.0.0.1", "reason": "PutObject"},
    }


TEST_EVENT = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2023-01-05T15:57:02.089Z",
              "Bucket": "cold", "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwc"}


def main(argv):
    if argv == ["--test-event"]:
        print(json.dumps(TEST_EVENT))
        return
    shape, objs = argv[0], []
    for a in argv[1:]:
        parts = a.split(":", 2)
        objs.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "ObjectCreated:Put"))
    if shape == "eventbridge":
        assert len(objs) == 1, "an EventBridge event names one object"
        print(json.dumps(eventbridge(objs[0][0], objs[0][1])))
        return
    s3doc = json.dumps({"Records": [s3_record(b, k, n) for b, k, n in objs]})
    out = {
        "s3": lambda: json.loads(s3doc),
        "lambda-sqs": lambda: lambda_sqs(s3doc),
        "receive": lambda: {"Messages": [{"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
                                          "ReceiptHandle": "MbZj6wDWli", "MD5OfBody": "x",
                                          "Body": s3doc}]},
        "sns": lambda: sns(s3doc),
        "lambda-sqs-sns": lambda: lambda_sqs(json.dumps(sns(s3doc))),
    }[shape]()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
