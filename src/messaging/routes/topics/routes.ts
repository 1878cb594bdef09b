// Topics: what contacts subscribe to one by one; send steps name one (`topic`).
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { Topic, TopicInput, TopicPatch } from "./schemas";

const tags = ["Contacts"];
const params = pathId("id", "top_01JD0000000000000000000000");

export const create = createRoute({
  method: "post",
  path: "/v1/topics",
  operationId: "createTopic",
  tags,
  summary: "Create a topic (a key unique per org)",
  security: secured,
  request: {
    body: jsonBody(TopicInput, {
      key: "newsletter",
      name: "Monthly newsletter",
      description: "What we shipped this month",
      defaultSubscribed: true,
    }),
  },
  responses: { 201: json(Topic, "Created"), ...errorResponses(409) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/topics",
  operationId: "listTopics",
  tags,
  summary: "List topics, newest first",
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(Topic), "Topics"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/topics/{id}",
  operationId: "getTopic",
  tags,
  summary: "Get a topic",
  security: secured,
  request: { params },
  responses: { 200: json(Topic, "The topic"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/topics/{id}",
  operationId: "updateTopic",
  tags,
  summary: "Rename a topic or change its default",
  security: secured,
  request: { params, body: jsonBody(TopicPatch, { name: "Newsletter" }) },
  responses: { 200: json(Topic, "The topic"), ...errorResponses(404) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/topics/{id}",
  operationId: "deleteTopic",
  tags,
  summary: "Delete a topic (sends naming it then reach every marketing subscriber)",
  security: secured,
  request: { params },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});
