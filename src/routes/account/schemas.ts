// The caller's account: its org and its quotas.
import { Org, OrgQuotas } from "../admin/schemas";

export { Org, orgJson } from "../admin/schemas";

export const Account = Org.extend({ quotas: OrgQuotas }).openapi("Account");
