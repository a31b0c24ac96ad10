// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Command-line SIP caller and call listener (`deno run -A jsr:@rtclite/sip-caller`).
 *
 * Not implemented yet: it prints its planned usage and exits with status 2.
 *
 * @module
 */

/** The planned command line. */
export const USAGE: string = `Usage: sip-caller [options] [sip:target]

  -u, --user URI        local address of record (sip:alice@example.com)
  -p, --password PASS   digest password for registration and calls
  -r, --registrar HOST  register with this server first
  -l, --listen          wait for incoming calls instead of calling
  --tone HZ | --file F  audio source (tone or WAV file)
  --record F            write received audio to a WAV file
  --dtmf DIGITS         send DTMF digits after the call is answered
  -v / -q               more or less logging

not implemented yet: the caller needs the SIP user agent (app/sip/client).`;

if (import.meta.main) {
  console.error(USAGE);
  Deno.exit(2);
}
