// Invoked by EventBridge Scheduler (through the scheduler role) when a batch's reminder is
// due: {"userId": "...", "batchId": "...", "message": "..."}. Records the reminder for the
// app to show; DynamoDB's time to live (attribute TTL) removes it after 30 days.
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";

const db = new DynamoDBClient({});
const THIRTY_DAYS = 30 * 24 * 60 * 60;

export const main = async (event) => {
  const { userId, batchId, message } = event ?? {};
  if (typeof userId !== "string" || typeof batchId !== "string") {
    throw new Error("a reminder needs userId and batchId");
  }
  const now = new Date();
  await db.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: {
        PK: { S: `USER#${userId}` },
        SK: { S: `REMINDER#${now.toISOString()}#${batchId}` },
        batchId: { S: batchId },
        message: { S: typeof message === "string" ? message : "Time to check your kefir" },
        TTL: { N: String(Math.floor(now.getTime() / 1000) + THIRTY_DAYS) },
      },
    }),
  );
  console.log(JSON.stringify({ level: "info", userId, action: "sendReminder", batchId, timestamp: now.toISOString() }));
  return { ok: true };
};
