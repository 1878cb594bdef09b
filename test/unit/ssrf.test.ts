// The SSRF policy (refuseUrl, refuseHost): every reserved range refused at its edges and its
// neighbours allowed, names normalised the way a URL parser does, and local development's two
// loopback hosts allowed only there.
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/ground/env";
import { refuseHost, refuseUrl, SES_REGION } from "../../src/security/ssrf";

const production = { ENVIRONMENT: "production" } as Env;
const development = { ENVIRONMENT: "development" } as Env;

const V4 = "Private, loopback, link-local, CGNAT or reserved addresses are not allowed";
const V6 = "Private, loopback, link-local, site-local or reserved IPv6 addresses are not allowed";
const CARRIES_V4 =
  "IPv6 addresses that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are not allowed";
const LOCAL = "Local host names are not allowed";

describe("refuseUrl: IPv4 ranges", () => {
  it.each([
    ["0.0.0.0", "0/8"],
    ["0.255.1.1", "0/8"],
    ["10.0.0.1", "10/8"],
    ["10.255.255.255", "10/8"],
    ["127.0.0.1", "loopback"],
    ["100.64.0.1", "CGNAT low edge"],
    ["100.127.255.254", "CGNAT high edge"],
    ["169.254.169.254", "link-local (cloud metadata)"],
    ["172.16.0.1", "172.16/12 low edge"],
    ["172.31.255.254", "172.16/12 high edge"],
    ["192.168.1.1", "192.168/16"],
    ["192.0.0.8", "192.0.0/24 IETF"],
    ["192.0.2.1", "TEST-NET-1"],
    ["198.18.0.1", "benchmarking low"],
    ["198.19.255.254", "benchmarking high"],
    ["198.51.100.7", "TEST-NET-2"],
    ["203.0.113.9", "TEST-NET-3"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
  ])("refuses %s (%s)", (ip) => {
    expect(refuseUrl(production, `https://${ip}/hook`)).toBe(V4);
  });

  it.each([
    "1.1.1.1",
    "9.255.255.255",
    "11.0.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "101.64.0.1",
    "169.253.1.1",
    "169.255.1.1",
    "170.254.1.1",
    "172.15.255.255",
    "172.32.0.1",
    "173.16.0.1",
    "192.167.1.1",
    "192.169.1.1",
    "193.168.1.1",
    "192.0.1.1",
    "192.0.3.1",
    "192.1.0.1",
    "192.1.2.1",
    "198.17.0.1",
    "198.20.0.1",
    "198.51.99.1",
    "198.51.101.1",
    "198.52.100.1",
    "197.18.0.1",
    "203.0.112.1",
    "203.0.114.1",
    "203.1.113.1",
    "204.0.113.1",
    "8.51.100.1",
    "223.255.255.254",
  ])("allows the public address %s", (ip) => {
    expect(refuseUrl(production, `https://${ip}/hook`)).toBeNull();
  });

  it("reads numeric forms the way the URL parser does (0x7f.1 is 127.0.0.1)", () => {
    expect(refuseUrl(production, "https://0x7f.1/")).toBe(V4);
    expect(refuseUrl(production, "https://2130706433/")).toBe(V4);
  });
});

describe("refuseUrl: IPv6 ranges", () => {
  it.each([
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["::1.2.3.4", "IPv4-compatible"],
    ["::ffff:1.2.3.4", "IPv4-mapped"],
    ["::ffff:0:1.2.3.4", "IPv4-translated"],
    ["64:ff9b::1.2.3.4", "NAT64"],
    ["64:ff9b:1::1", "local NAT64"],
    ["2002:c000:0204::1", "6to4"],
    ["2001:0:4136:e378::1", "Teredo"],
  ])("refuses %s (%s) as carrying an IPv4 address", (ip) => {
    expect(refuseUrl(production, `https://[${ip}]/`)).toBe(CARRIES_V4);
  });

  it.each([
    ["fc00::1", "unique local low"],
    ["fdff:ffff::1", "unique local high"],
    ["fe80::1", "link-local low"],
    ["febf::1", "link-local high"],
    ["fec0::1", "site-local low"],
    ["feff::1", "site-local high"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["100::1", "discard"],
    ["100::ffff:1", "discard, end of the /64"],
  ])("refuses %s (%s)", (ip) => {
    expect(refuseUrl(production, `https://[${ip}]/`)).toBe(V6);
  });

  it.each([
    "2606:4700:4700::1111",
    "fb00::1",
    "fe00::1",
    "fe7f::1",
    "2001:db9::1",
    "2001:1::1",
    "2000:db8::1",
    "2003::1",
    "64:ff9a::1",
    "65:ff9b::1",
    "100:0:0:1::1",
    "100:1::1",
    "100:0:1::1",
    "2003:db8::1",
    "101::1",
    "1::1",
    "0:0:0:0:1::1",
    "::ffff:0:0:1:1",
    "::1:ffff:0:1:1",
  ])("allows the public address %s", (ip) => {
    expect(refuseUrl(production, `https://[${ip}]/`)).toBeNull();
  });
});

describe("refuseUrl: names, schemes and credentials", () => {
  it.each([
    "localhost",
    "LOCALHOST",
    "localhost.",
    "localhost..",
    "printer.local.",
    "api.localhost",
    "printer.local",
    "db.internal",
    "nas.home.arpa",
    "intranet",
  ])("refuses the local name %s", (name) => {
    expect(refuseUrl(production, `https://${name}/`)).toBe(LOCAL);
  });

  it.each([
    "example.com",
    "example.com.",
    "localhost.example.com",
    "local.example.com",
    "internal.example.com",
    "home.arpa.example.com",
    "123.example.com",
  ])("allows the public name %s", (name) => {
    expect(refuseUrl(production, `https://${name}/`)).toBeNull();
  });

  it("refuses what is not a URL", () => {
    expect(refuseUrl(production, "not a url")).toBe("Not a valid URL");
  });

  it("refuses credentials in the URL, user or password alone", () => {
    const why = "URLs with credentials are not allowed";
    expect(refuseUrl(production, "https://u:p@example.com/")).toBe(why);
    expect(refuseUrl(production, "https://u@example.com/")).toBe(why);
    expect(refuseUrl(production, "https://:p@example.com/")).toBe(why);
    expect(refuseUrl(development, "http://u@localhost:8787/")).toBe(why);
  });

  it("refuses anything but https in production, localhost included", () => {
    expect(refuseUrl(production, "http://example.com/")).toBe("Only https URLs are allowed");
    expect(refuseUrl(production, "ftp://example.com/")).toBe("Only https URLs are allowed");
    expect(refuseUrl(production, "http://localhost:8787/")).toBe("Only https URLs are allowed");
    expect(refuseUrl(production, "https://localhost:8787/")).toBe(LOCAL);
    expect(refuseUrl(production, "https://127.0.0.1/")).toBe(V4);
  });

  it("allows localhost and 127.0.0.1 over http or https in development, and nothing else local", () => {
    expect(refuseUrl(development, "http://localhost:8787/hook")).toBeNull();
    expect(refuseUrl(development, "https://localhost./hook")).toBeNull();
    expect(refuseUrl(development, "https://localhost../hook")).toBeNull();
    expect(refuseUrl(development, "http://127.0.0.1:9000/")).toBeNull();
    expect(refuseUrl(development, "ftp://localhost/")).toBe("Only https URLs are allowed");
    expect(refuseUrl(development, "http://example.com/")).toBe("Only https URLs are allowed");
    expect(refuseUrl(development, "https://10.0.0.1/")).toBe(V4);
    expect(refuseUrl(development, "https://printer.local/")).toBe(LOCAL);
    expect(refuseUrl(development, "https://[::1]/")).toBe(CARRIES_V4);
  });
});

describe("refuseHost (SMTP relays)", () => {
  const PORT = "The port must be a whole number from 1 to 65535";

  it("takes ports 1 to 65535, as numbers or digits", () => {
    expect(refuseHost(production, "smtp.example.com", 1)).toBeNull();
    expect(refuseHost(production, "smtp.example.com", 65535)).toBeNull();
    expect(refuseHost(production, "smtp.example.com", "587")).toBeNull();
    expect(refuseHost(production, "smtp.example.com", 0)).toBe(PORT);
    expect(refuseHost(production, "smtp.example.com", 65536)).toBe(PORT);
    expect(refuseHost(production, "smtp.example.com", -25)).toBe(PORT);
    expect(refuseHost(production, "smtp.example.com", 2.5)).toBe(PORT);
    expect(refuseHost(production, "smtp.example.com", "smtp")).toBe(PORT);
  });

  it("trims and normalises the host before judging it", () => {
    expect(refuseHost(production, "  smtp.example.com  ", 465)).toBeNull();
    expect(refuseHost(production, " SMTP.Example.COM ", 465)).toBeNull();
    expect(refuseHost(production, "0x7f.0.0.1", 25)).toBe(V4);
    expect(refuseHost(production, "LOCALHOST", 25)).toBe(LOCAL);
  });

  it("reads a bare or bracketed IPv6 address", () => {
    expect(refuseHost(production, "::1", 25)).toBe(CARRIES_V4);
    expect(refuseHost(production, "[::1]", 25)).toBe(CARRIES_V4);
    expect(refuseHost(production, "fd00::25", 25)).toBe(V6);
    expect(refuseHost(production, "2606:4700::1111", 25)).toBeNull();
  });

  it("refuses what is not a host", () => {
    const why = "Not a valid host name or address";
    expect(refuseHost(production, "smtp example.com", 25)).toBe(why);
    expect(refuseHost(production, "", 25)).toBe(why);
    expect(refuseHost(production, "1..2", 25)).toBe(why);
  });

  it("allows the loopback relays in development only", () => {
    expect(refuseHost(development, "localhost", 1025)).toBeNull();
    expect(refuseHost(development, "127.0.0.1", 1025)).toBeNull();
    expect(refuseHost(development, "localhost.", 1025)).toBeNull();
    expect(refuseHost(development, "10.0.0.5", 25)).toBe(V4);
    expect(refuseHost(production, "localhost", 1025)).toBe(LOCAL);
    expect(refuseHost(production, "127.0.0.1", 1025)).toBe(V4);
  });
});

describe("SES_REGION", () => {
  it.each(["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4"])("accepts %s", (r) => {
    expect(SES_REGION.test(r)).toBe(true);
  });
  it.each([
    "US-east-1",
    "u-east-1",
    "use-east-1",
    "us-1",
    "us-east-",
    "us-east-12",
    "xus-east-1",
    "us-east-1x",
    "us_east_1",
  ])("refuses %s", (r) => {
    expect(SES_REGION.test(r)).toBe(false);
  });
});
