import { notFoundHandler } from '#shared/http/middleware.ts';

/** `$default` — any request no route matches: 404 `not_found` in the API's error shape (public). */
export const handler = notFoundHandler();
