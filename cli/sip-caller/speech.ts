// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Speech for the caller, through the system's tools: text to speech with
 * espeak-ng (`--textspeech`), and recognition of what the far end says with
 * PocketSphinx (`--recognize`), printed as each utterance ends.
 *
 * Debian: `apt-get install espeak-ng pocketsphinx pocketsphinx-en-us`.
 *
 * @module
 */
import type { AudioSink } from "@rtclite/app/net/media";
import { decodeWav, type WavAudio } from "@rtclite/std/ietf/rfc3551";

/** A speech tool is missing or failed. */
export class SpeechError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "SpeechError";
  }
}

function tool(bin: string, args: string[]): Deno.Command {
  return new Deno.Command(bin, { args, stdin: "piped", stdout: "piped", stderr: "piped" });
}

/**
 * Speaks `text` with espeak-ng: the WAV it writes (22050 Hz, mono), decoded.
 * The caller's `WavSource` resamples it to the call's rate.
 *
 * @param text What to say.
 * @param options The voice (default `en-us`), words per minute (default 150) and the gap
 * between words in 10 ms units (default 15): a little slower than espeak-ng's default, which
 * PocketSphinx's US English model takes better.
 * @returns The audio.
 * @throws {SpeechError} When espeak-ng is not installed or fails.
 */
export async function textToSpeech(
  text: string,
  options: { voice?: string; wordsPerMinute?: number; wordGap?: number } = {},
): Promise<WavAudio> {
  const args = [
    "--stdout",
    "-v",
    options.voice ?? "en-us",
    "-s",
    String(options.wordsPerMinute ?? 150),
    "-g",
    String(options.wordGap ?? 15),
    "--",
    text,
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("espeak-ng", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new SpeechError(
      `Cannot speak: espeak-ng did not start (apt-get install espeak-ng): ${
        e instanceof Error ? e.message : e
      }`,
    );
  }
  if (!out.success) {
    throw new SpeechError(
      `Cannot speak: espeak-ng failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return decodeWav(out.stdout);
}

/** Linear interpolation from `from` Hz to `to` Hz. */
function resample(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples;
  const out = new Int16Array(Math.floor((samples.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const x = (i * from) / to;
    const j = Math.floor(x);
    const a = samples[j] ?? 0;
    const b = samples[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (x - j));
  }
  return out;
}

/** Options of {@linkcode Recognizer.start}. */
export interface RecognizerOptions {
  /** Sample rate of the audio written to it (8000 or 16000). */
  sampleRate: number;
  /** A JSGF grammar file that limits what can be recognized (default: the English language model). */
  grammar?: string;
  /** Receives each utterance's text as it is recognized. */
  onText: (text: string) => void;
}

/**
 * An audio sink that feeds PocketSphinx (`pocketsphinx_continuous`, 16 kHz
 * model): audio of the call, raised to 16 kHz, goes to its standard input; it
 * finds the utterances by their pauses and prints each one's text as it ends.
 */
export class Recognizer implements AudioSink {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #rate: number;
  #done: Promise<void>;
  #closed = false;

  private constructor(child: Deno.ChildProcess, options: RecognizerOptions) {
    this.#child = child;
    this.#rate = options.sampleRate;
    this.#stdin = child.stdin.getWriter();
    this.#stdin.closed.catch(() => {});
    this.#done = (async () => {
      let buffer = "";
      const dec = new TextDecoder();
      for await (const chunk of child.stdout) {
        buffer += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) options.onText(line);
        }
      }
      if (buffer.trim()) options.onText(buffer.trim());
    })();
    child.stderr.cancel().catch(() => {});
  }

  /**
   * Starts PocketSphinx.
   *
   * @param options Sample rate, grammar and the text callback.
   * @returns The recognizer, a sink for the call's audio.
   * @throws {SpeechError} When pocketsphinx_continuous is not installed.
   */
  static start(options: RecognizerOptions): Recognizer {
    const args = ["-infile", "/dev/stdin", "-samprate", "16000", "-logfn", "/dev/null"];
    if (options.grammar !== undefined) args.push("-jsgf", options.grammar);
    try {
      return new Recognizer(
        tool("pocketsphinx_continuous", args).spawn(),
        options,
      );
    } catch (e) {
      throw new SpeechError(
        "Cannot recognize speech: pocketsphinx_continuous did not start " +
          `(apt-get install pocketsphinx pocketsphinx-en-us): ${
            e instanceof Error ? e.message : e
          }`,
      );
    }
  }

  /**
   * Takes a frame of the call's audio.
   *
   * @param samples 16-bit mono samples at the recognizer's rate.
   */
  write(samples: Int16Array): void {
    if (this.#closed) return;
    const wide = resample(samples, this.#rate, 16000);
    const bytes = new Uint8Array(wide.length * 2);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < wide.length; i++) view.setInt16(i * 2, wide[i]!, true);
    this.#stdin.write(bytes).catch(() => {});
  }

  /** Ends the audio (the end of the stream closes the last utterance) and waits for the last text. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stdin.close().catch(() => {});
    await this.#done;
    await this.#child.status;
  }
}
