// The caller's account: its org.
export { Org, orgJson } from "../admin/schemas";
