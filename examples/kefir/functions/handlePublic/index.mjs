// GET /public/b/{batchId} (no sign-in): a batch's public page, found through GSI1.
// Answers 404 for an unknown batch; never shows the owner or the notes.
import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";

const db = new DynamoDBClient({});

const reply = (statusCode, body) => ({
  statusCode,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const main = async (event) => {
  const batchId = event.pathParameters?.batchId ?? "";
  if (!/^[0-9a-f-]{36}$/.test(batchId)) return reply(404, { message: "no such batch" });

  const out = await db.send(
    new QueryCommand({
      TableName: process.env.TABLE_NAME,
      IndexName: "GSI1",
      KeyConditionExpression: "GSI1PK = :pk AND GSI1SK = :sk",
      ExpressionAttributeValues: { ":pk": { S: `BATCH#${batchId}` }, ":sk": { S: "BATCH" } },
      Limit: 1,
    }),
  );
  const item = out.Items?.[0];
  if (!item) return reply(404, { message: "no such batch" });
  return reply(200, { batchId, name: item.name?.S ?? "", createdAt: item.createdAt?.S ?? "" });
};
