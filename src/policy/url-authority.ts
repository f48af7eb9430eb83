// URLs whose host depends on which parser reads them. The gateway judges a URL with the WHATWG
// parser (Node's URL), but the request may be made by another: curl and most HTTP libraries follow
// RFC 3986, where a backslash is an ordinary character of the user name, `@` may appear once, and a
// host is not percent-decoded. `https://github.com\@evil.example/` is github.com to WHATWG and
// evil.example to curl. Such URLs are refused rather than judged under one reading. Pure: no I/O.

/** Why the URL's host is ambiguous between parsers, or undefined when every reading agrees. */
export function authorityAmbiguity(url: string): string | undefined {
  // RFC 3986: the authority follows `//` and ends at the first `/`, `?` or `#`.
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  if (!m) return "it is not written as scheme://host/… (a WHATWG parser would guess a host that others do not)";
  const authority = m[1]!;
  if (authority.includes("\\")) return "it has a backslash before its path, which browsers read as `/` and curl as part of a user name";
  const at = authority.lastIndexOf("@");
  if (authority.indexOf("@") !== at) return "it has more than one `@` before its path, which parsers split differently";
  if (authority.slice(at + 1).includes("%")) return "its host name holds a percent-escape, which some parsers decode and others do not";
  return undefined;
}
