#!/usr/bin/python3
"""Writes the sample event documents of this directory.

The shapes follow the examples of the AWS documentation (S3 User Guide:
"Event message structure", "EventBridge event message structure"; SNS
Developer Guide: "Amazon SNS message and JSON formats"; Lambda Developer
Guide: "Using Lambda with Amazon SQS" / "... with Amazon SNS"), with our own
bucket names and SiteWise cold-tier keys. Keys of S3 notifications are
form-URL-encoded the way S3 does it ('=' -> %3D, ' ' -> '+', '+' -> %2B);
EventBridge keys are plain. Run it again after changing it:
    /usr/bin/python3 tests/data/events/gen.py
"""
import json
import os
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
COLD = "sitewise-cold"


def enc(key):
    # S3 notifications encode like application/x-www-form-urlencoded but keep '/'
    return urllib.parse.quote_plus(key, safe="/")


def s3_record(key, name="ObjectCreated:Put", bucket=COLD, size=1024,
              etag="d41d8cd98f00b204e9800998ecf8427e", encoded=None):
    obj = {"key": encoded if encoded is not None else enc(key)}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    obj["versionId"] = "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    obj["sequencer"] = "0055AED6DCD90281E5"
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-west-2",
        "eventTime": "2023-01-06T00:05:12.000Z",
        "eventName": name,
        "userIdentity": {"principalId": "AWS:AROAEXAMPLEROLE:iotsitewise"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "repart-cold-tier",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": "arn:aws:s3:::" + bucket,
            },
            "object": obj,
        },
    }


def notification(*records):
    return {"Records": list(records)}


def sns(message, type_="Notification"):
    env = {
        "Type": type_,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-west-2:111122223333:repart-cold-tier",
        "Subject": "Amazon S3 Notification",
        "Message": message,
        "Timestamp": "2023-01-06T00:05:13.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:111122223333:repart-cold-tier:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
    }
    if type_ != "Notification":
        del env["Subject"]
        del env["UnsubscribeURL"]
        env["Token"] = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736"
        env["SubscribeURL"] = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:111122223333:repart-cold-tier&Token=2336412f37"
    return env


def lambda_sqs(*bodies):
    recs = []
    for i, b in enumerate(bodies):
        recs.append({
            "messageId": "059f36b4-87a3-44ab-83d2-66197572410%d" % i,
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": b,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1673000000000",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1673000000100",
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-west-2:111122223333:repart-events",
            "awsRegion": "us-west-2",
        })
    return {"Records": recs}


def eventbridge(key, dtype="Object Created", bucket=COLD, reason="PutObject", size=5):
    obj = {"key": key}
    if size is not None:
        obj["size"] = size
    obj["etag"] = "b1946ac92492d2347c6235b4d2611184"
    obj["version-id"] = "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    obj["sequencer"] = "617f08299329d189"
    d = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "111122223333",
        "source-ip-address": "10.0.0.1",
        "reason": reason,
    }
    if dtype == "Object Deleted":
        d["deletion-type"] = "Permanently Deleted"
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": dtype,
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2023-01-07T06:00:00Z",
        "region": "us-west-2",
        "resources": ["arn:aws:s3:::" + bucket],
        "detail": d,
    }


K5 = "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=0a/raw_7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a_1672876800_GOOD.avro"
K6 = "raw/startYear=2023/startMonth=1/startDay=6/seriesBucket=0b/raw_a+b c_1672963200_GOOD.avro"
K12 = "raw/startYear=2022/startMonth=12/startDay=31/seriesBucket=ff/raw_f00d_1672444800_BAD.avro"
K7 = "raw/startYear=2023/startMonth=1/startDay=7/seriesBucket=ff/raw_x+y_1673049600_GOOD.avro"

TEST_EVENT = {
    "Service": "Amazon S3",
    "Event": "s3:TestEvent",
    "Time": "2023-01-05T15:57:02.089Z",
    "Bucket": COLD,
    "RequestId": "5582815E1AEA5ADF",
    "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
}

docs = {
    # one PUT, '=' encoded as %3D as S3 does
    "s3-put.json": notification(s3_record(K5)),
    # several records: used, duplicate day, every kind of skip
    "s3-mixed.json": notification(
        s3_record(K6, name="ObjectCreated:CompleteMultipartUpload", size=104857600,
                  etag="4af981f98d22a0b9979da24b259e5e42-12"),
        s3_record(K5.replace("_GOOD", "_UNCERTAIN"), name="ObjectCreated:Copy"),
        s3_record(K12, name="ObjectCreated:Post"),
        s3_record(K5, name="ObjectRemoved:Delete", size=None),
        s3_record(K5, bucket="some-other-bucket"),
        s3_record("asset_metadata/asset_7020c8e2-e6db-40fa-9845-ed0dddd4c77d.ndjson"),
        s3_record("consolidated/startYear=2023/startMonth=1/startDay=5/merged_x.avro"),
        s3_record("raw/startYear=2023/startMonth=13/startDay=5/seriesBucket=0a/raw_s_1_GOOD.avro"),
        s3_record("raw/startYear=2023/startMonth=1/", size=0),
        s3_record(None, encoded="raw/startYear%3D2023/startMonth%3D1/startDay%3D8/raw_%ZZ_1_GOOD.avro"),
    ),
    "s3-testevent.json": TEST_EVENT,
    # S3 -> SNS -> SQS (no raw delivery): the SQS body is the SNS envelope
    "sns-envelope.json": sns(json.dumps(notification(s3_record(K7.replace("raw_x+y", "raw_xy"))))),
    "sns-testevent.json": sns(json.dumps(TEST_EVENT)),
    "sns-subscription-confirmation.json": sns(
        "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:111122223333:repart-cold-tier.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        type_="SubscriptionConfirmation"),
    # a Lambda function subscribed to the SQS queue
    "lambda-sqs.json": lambda_sqs(json.dumps(notification(s3_record(K5))),
                                  json.dumps(notification(s3_record(K6))),
                                  json.dumps(TEST_EVENT)),
    # S3 -> SNS -> SQS -> Lambda: the deepest legitimate nesting
    "lambda-sqs-sns.json": lambda_sqs(json.dumps(sns(json.dumps(notification(s3_record(K12)))))),
    # a Lambda function subscribed to the SNS topic
    "lambda-sns.json": {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-west-2:111122223333:repart-cold-tier:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": sns(json.dumps(notification(s3_record(K6)))),
    }]},
    "eventbridge-created.json": eventbridge(K7, reason="CompleteMultipartUpload", size=198524144),
    "eventbridge-deleted.json": eventbridge(K7, dtype="Object Deleted", reason="DeleteObject", size=None),
    # `aws sqs receive-message --queue-url ... > file`, bodies from S3 and from EventBridge
    "sqs-receive-message.json": {"Messages": [
        {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
         "ReceiptHandle": "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw",
         "MD5OfBody": "fafb00f5732ab283681e124bf8747ed1",
         "Body": json.dumps(notification(s3_record(K12)))},
        {"MessageId": "6fea7756-0ea4-451a-a703-a558b933e275",
         "ReceiptHandle": "NbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cx",
         "MD5OfBody": "fafb00f5732ab283681e124bf8747ed2",
         "Body": json.dumps(eventbridge(K7))},
    ]},
}

for name, doc in docs.items():
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
