// Route-building helpers: every router validates with zod and turns failures into the
// contract's `validation_failed`; bodies are required JSON so a wrong type never skips validation.
import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../ground/env";
import { validationFailed, zodDetails } from "../ground/errors";

export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationFailed(zodDetails(result.error));
      }
    },
  });
}

/** A handler for a route declared with createRoute: typed input, typed responses. */
export type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

/**
 * A required JSON body with an example for the reference and the SDK. The example is checked
 * against the schema when the route is declared, so a stale example fails every test at once.
 */
export function jsonBody<T extends z.ZodTypeAny>(
  schema: T,
  example: z.input<T>,
  description = "JSON body",
) {
  const checked = schema.safeParse(example);
  if (!checked.success) {
    throw new Error(
      `The example of a request body does not match its schema: ${checked.error.message}`,
    );
  }
  return {
    content: { "application/json": { schema, example } },
    required: true,
    description,
  };
}

export const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

export const pathId = (name = "id", example = "con_01JD0000000000000000000000") =>
  z.object({
    [name]: z
      .string()
      .min(1)
      .max(100)
      .openapi({ param: { name, in: "path" }, example }),
  });

export const secured = [{ bearerAuth: [] }];

/** ISO-8601 timestamp on output. */
export const Timestamp = z.string().openapi({ example: "2026-11-22T09:00:00.000Z" });

/**
 * A schema defined below the HTTP floor (the engine speaks plain zod), ready for the route to
 * document with `.openapi()`. Zod copies that method onto each schema as it is built, so a
 * schema built before @hono/zod-openapi extended zod has none; this copy, built now, has it,
 * and keeps the original's validation and metadata.
 */
export const documentable = <T extends z.ZodType>(schema: T): T => schema.clone();
