// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The sound card for the caller through ALSA's command-line tools: a
 * microphone (`arecord`) as an audio source and a speaker (`aplay`) as an
 * audio sink, 16-bit mono at the call's rate. Any ALSA device name works
 * (`default`, `plughw:1`, or a `file` plugin device for tests).
 *
 * Debian: `apt-get install alsa-utils`.
 *
 * @module
 */
import type { AudioSink, AudioSource } from "@rtclite/app/net/media";

/** An ALSA tool is missing or cannot open its device. */
export class SoundError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "SoundError";
  }
}

function alsa(bin: string, device: string, rate: number, piped: "stdin" | "stdout") {
  const args = ["-q", "-D", device, "-f", "S16_LE", "-r", String(rate), "-c", "1", "-t", "raw"];
  try {
    return new Deno.Command(bin, {
      args,
      stdin: piped === "stdin" ? "piped" : "null",
      stdout: piped === "stdout" ? "piped" : "null",
      stderr: "null",
    }).spawn();
  } catch (e) {
    throw new SoundError(
      `Cannot open ${device}: ${bin} did not start (apt-get install alsa-utils): ${
        e instanceof Error ? e.message : e
      }`,
    );
  }
}

/**
 * Audio captured from an ALSA device with `arecord`. A live source: when the
 * device is behind, it gives silence; it keeps at most half a second queued.
 */
export class Microphone implements AudioSource {
  #child: Deno.ChildProcess;
  #queue: Int16Array[] = [];
  #queued = 0;
  #max: number;
  #partial: Uint8Array = new Uint8Array(0);

  /**
   * Starts capturing.
   *
   * @param device ALSA capture device.
   * @param sampleRate The call's rate.
   */
  constructor(device: string, sampleRate: number) {
    this.#max = sampleRate / 2;
    const child = this.#child = alsa("arecord", device, sampleRate, "stdout");
    (async () => {
      for await (const chunk of child.stdout) this.#take(chunk);
    })().catch(() => {});
  }

  #take(chunk: Uint8Array): void {
    const bytes = new Uint8Array(this.#partial.length + chunk.length);
    bytes.set(this.#partial);
    bytes.set(chunk, this.#partial.length);
    const n = bytes.length >> 1;
    this.#partial = bytes.slice(n * 2);
    const view = new DataView(bytes.buffer, 0, n * 2);
    const samples = new Int16Array(n);
    for (let i = 0; i < n; i++) samples[i] = view.getInt16(i * 2, true);
    this.#queue.push(samples);
    this.#queued += n;
    while (this.#queued > this.#max && this.#queue.length > 1) {
      this.#queued -= this.#queue.shift()!.length;
    }
  }

  /**
   * The next `n` captured samples (silence where the device has not delivered yet).
   *
   * @param n Number of samples.
   * @returns The samples.
   */
  read(n: number): Int16Array {
    const out = new Int16Array(n);
    let filled = 0;
    while (filled < n && this.#queue.length) {
      const head = this.#queue[0]!;
      const take = Math.min(n - filled, head.length);
      out.set(head.subarray(0, take), filled);
      filled += take;
      this.#queued -= take;
      if (take === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
    }
    return out;
  }

  /** Stops capturing. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.#child.status;
  }
}

/** Audio played on an ALSA device with `aplay`. */
export class Speaker implements AudioSink {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  /**
   * Starts playing.
   *
   * @param device ALSA playback device.
   * @param sampleRate The call's rate.
   */
  constructor(device: string, sampleRate: number) {
    this.#child = alsa("aplay", device, sampleRate, "stdin");
    this.#stdin = this.#child.stdin.getWriter();
    this.#stdin.closed.catch(() => {});
  }

  /**
   * Plays a frame.
   *
   * @param samples 16-bit mono samples.
   */
  write(samples: Int16Array): void {
    const bytes = new Uint8Array(samples.length * 2);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
    this.#stdin.write(bytes).catch(() => {});
  }

  /** Plays what is queued, then stops. */
  async close(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
  }
}
