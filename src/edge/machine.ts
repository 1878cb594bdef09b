// Machine opens and clicks: privacy proxies, link scanners and prefetchers. Flagged, not dropped.
const SCANNER_UA =
  /(bot\b|crawler|spider|scanner|proofpoint|mimecast|barracuda|safelinks|microsoft office|ms-office|outlook-ios-linkcheck|symantec|forcepoint|trendmicro|fireeye|zscaler|sophos|headless|phantomjs|python-requests|curl\/|wget\/|go-http-client|java\/|okhttp|libwww|httpclient|slackbot|facebookexternalhit|whatsapp|discordbot|linkedinbot|skypeuripreview)/i;

/** Apple Mail Privacy Protection fetches through Apple's proxies with a bare UA from 17.0.0.0/8. */
function appleProxy(ua: string, ip: string | null) {
  return ua === "Mozilla/5.0" || (ip?.startsWith("17.") ?? false);
}

export function machineReason(method: string, ua: string | null, ip: string | null): string | null {
  if (method === "HEAD") {
    return "head_request";
  }
  const agent = ua ?? "";
  if (!agent) {
    return "no_user_agent";
  }
  if (appleProxy(agent, ip)) {
    return "apple_mpp";
  }
  if (SCANNER_UA.test(agent)) {
    return "scanner";
  }
  return null;
}
