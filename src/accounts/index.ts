// The accounts wing: the org's settings, API keys, usage and its link origin. What other wings use:
export { publicUrl, rememberOrigin } from "./public-url";
