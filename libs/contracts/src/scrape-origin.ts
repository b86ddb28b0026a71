import { isIPv4, isIPv6 } from 'node:net';

/*
 * How a caller reached the control plane's API, as the gateway tells the orchestrator in
 * `X-Forwarded-Host`, `X-Forwarded-Proto` and `X-Forwarded-Prefix`: scrape targets are built from it.
 */

/** Where a caller reached the control plane's API: what its Prometheus has to scrape. */
export interface ScrapeOrigin {
  /** `host:port` as the caller addressed it (the default port spelled out), e.g. `127.0.0.1:8001`. */
  host: string;
  scheme: 'http' | 'https';
  /** The API's path prefix, e.g. `/api/v1` (gateway) or `/api` (orchestrator). */
  prefix: string;
}

/** One entry of Prometheus HTTP service discovery (`http_sd_configs`), as the targets route answers. */
export interface HttpSdTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** What a request says about how its caller sees the API; absent headers are undefined. */
export interface ScrapeOriginHeaders {
  forwardedHost?: string;
  forwardedProto?: string;
  forwardedPrefix?: string;
  /** The request's own `Host`, used when no `X-Forwarded-Host` came. */
  host?: string;
}

/**
 * A header that says how the caller reaches the API (`Host`, `X-Forwarded-Host`, `-Proto`, `-Prefix`)
 * cannot be put into a scrape target; the message names the header and what it must look like.
 */
export class InvalidScrapeOriginError extends Error {
  readonly code = 'INVALID_SCRAPE_ORIGIN';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const MAX_HOST_LENGTH = 261; // 253 for the name, ":" and five digits of port
const MAX_PREFIX_LENGTH = 256;
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const HOST_AND_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/;
const PREFIX = /^(?:\/[A-Za-z0-9._~-]+)+$/;

function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/**
 * `host[:port]` with a DNS name, an IPv4 address or a bracketed IPv6 address; the default port of
 * `scheme` is spelled out so that every target names its port.
 */
export function scrapeHost(value: string, header: string, scheme: 'http' | 'https'): string {
  const match = value.length <= MAX_HOST_LENGTH ? HOST_AND_PORT.exec(value) : null;
  const name = match?.[1] ?? '';
  const port = match?.[2] === undefined ? (scheme === 'https' ? 443 : 80) : Number(match[2]);
  const nameOk = name.startsWith('[')
    ? isIPv6(name.slice(1, -1))
    : name.length <= 253 &&
      HOSTNAME.test(name) &&
      // No top-level domain is all digits: such a name is an IPv4 address, and must be a valid one.
      (!/(^|\.)[0-9]+$/.test(name) || isIPv4(name));
  if (!match || !nameOk || port < 1 || port > 65535) {
    throw new InvalidScrapeOriginError(
      `${header} must be a host name, an IPv4 address or an [IPv6] address with an optional port ` +
        `1-65535, such as 127.0.0.1:8001 (got ${shown(value)})`,
    );
  }
  return `${name}:${String(port)}`;
}

export function scrapeScheme(value: string, header: string): 'http' | 'https' {
  const scheme = value.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return scheme;
  throw new InvalidScrapeOriginError(`${header} must be http or https (got ${shown(value)})`);
}

/** A path of one or more segments of unreserved characters, without a trailing slash, e.g. `/api/v1`. */
export function scrapePrefix(value: string, header: string): string {
  const segments = value.split('/').slice(1);
  if (
    value.length <= MAX_PREFIX_LENGTH &&
    PREFIX.test(value) &&
    // "." and ".." are allowed characters but would mean "this/parent directory" to a URL.
    !segments.some((segment) => /^\.+$/.test(segment))
  ) {
    return value;
  }
  throw new InvalidScrapeOriginError(
    `${header} must be a path such as /api/v1: segments of letters, digits, ".", "_", "~" or "-" ` +
      `each after a "/", no trailing "/", no "." or ".." segment, at most ${MAX_PREFIX_LENGTH} characters ` +
      `(got ${shown(value)})`,
  );
}

/**
 * The caller's view of the API from its request: each `X-Forwarded-*` header when present, else the
 * request's `Host`, `http` and `defaultPrefix`. A malformed header throws InvalidScrapeOriginError
 * rather than ending up in a target, where Prometheus would fail on it far from its cause.
 */
export function scrapeOrigin(headers: ScrapeOriginHeaders, defaultPrefix: string): ScrapeOrigin {
  const scheme =
    headers.forwardedProto === undefined ? 'http' : scrapeScheme(headers.forwardedProto, 'X-Forwarded-Proto');
  const prefix =
    headers.forwardedPrefix === undefined
      ? defaultPrefix
      : scrapePrefix(headers.forwardedPrefix, 'X-Forwarded-Prefix');
  let host: string;
  if (headers.forwardedHost !== undefined) {
    host = scrapeHost(headers.forwardedHost, 'X-Forwarded-Host', scheme);
  } else if (headers.host !== undefined) {
    host = scrapeHost(headers.host, 'Host', scheme);
  } else {
    throw new InvalidScrapeOriginError(
      'The request has neither X-Forwarded-Host nor Host: say which host:port Prometheus should scrape',
    );
  }
  return { host, scheme, prefix };
}
