// POST /batches (behind the JWT authorizer): start a kefir batch for the signed-in user.
// Body: {"name": "...", "notes": "..."}. Answers 201 with the batch's id.
import { randomUUID } from "node:crypto";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";

const db = new DynamoDBClient({});

const reply = (statusCode, body) => ({
  statusCode,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const main = async (event) => {
  const userId = event.requestContext?.authorizer?.jwt?.claims?.sub;
  if (!userId) return reply(401, { message: "sign in first" });

  let input;
  try {
    input = JSON.parse(event.body ?? "{}");
  } catch {
    return reply(400, { message: "the body is not JSON" });
  }
  const name = typeof input.name === "string" ? input.name.trim() : "";
  if (!name || name.length > 100) return reply(400, { message: "name: 1 to 100 characters" });

  const batchId = randomUUID();
  const createdAt = new Date().toISOString();
  await db.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: {
        PK: { S: `USER#${userId}` },
        SK: { S: `BATCH#${batchId}` },
        GSI1PK: { S: `BATCH#${batchId}` },
        GSI1SK: { S: "BATCH" },
        name: { S: name },
        notes: { S: typeof input.notes === "string" ? input.notes.slice(0, 1000) : "" },
        createdAt: { S: createdAt },
      },
      ConditionExpression: "attribute_not_exists(PK)",
    }),
  );
  console.log(JSON.stringify({ level: "info", userId, action: "createBatch", batchId, timestamp: createdAt }));
  return reply(201, { batchId, name, createdAt });
};
