// Draws up to millions of round points with plain WebGL 1: one buffer each for positions
// (normalised, see layout.ts), colours and marks, and two draw calls (unmarked points, then
// marked ones on top with a ring). No library: regl and its relatives compile shaders' glue
// with new Function, which the app's Content-Security-Policy (no 'unsafe-eval') forbids.
// Every exact frame is drawn into a texture and copied to the canvas, so that while the view is
// being zoomed or panned a frame can be that texture moved and scaled (two triangles) instead of
// every point again: at 200k points under SwiftShader (software WebGL) an exact frame takes
// hundreds of milliseconds, the moved snapshot a few.
import { PLOT_PADDING } from './layout.js';

const VERTEX = `
attribute vec2 a_pos;
attribute vec4 a_colour;
attribute float a_mark;
uniform vec2 u_size;
uniform vec3 u_zoom;
uniform float u_pad;
uniform float u_pointSize;
uniform float u_dpr;
uniform float u_pass;
uniform float u_dim;
varying vec4 v_colour;
varying float v_mark;
void main() {
  bool marked = a_mark > 0.5;
  if ((u_pass > 0.5) != marked) {
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
    gl_PointSize = 0.0;
    return;
  }
  // Same formula as basePosition() in layout.ts.
  vec2 base = vec2(u_pad + a_pos.x * (u_size.x - 2.0 * u_pad), u_pad + (1.0 - a_pos.y) * (u_size.y - 2.0 * u_pad));
  vec2 screen = base * u_zoom.x + u_zoom.yz;
  gl_Position = vec4(screen.x / u_size.x * 2.0 - 1.0, 1.0 - screen.y / u_size.y * 2.0, 0.0, 1.0);
  gl_PointSize = (marked ? u_pointSize + 4.0 : u_pointSize) * u_dpr;
  v_colour = a_colour;
  if (!marked) v_colour.a *= u_dim;
  v_mark = a_mark;
}`;

/** The snapshot of the last exact frame, placed at screen = cached · scale + offset (CSS pixels). */
const SNAPSHOT_VERTEX = `
attribute vec2 a_unit;
uniform vec2 u_size;
uniform vec3 u_move;
varying vec2 v_uv;
void main() {
  vec2 screen = a_unit * u_size * u_move.x + u_move.yz;
  gl_Position = vec4(screen.x / u_size.x * 2.0 - 1.0, 1.0 - screen.y / u_size.y * 2.0, 0.0, 1.0);
  v_uv = vec2(a_unit.x, 1.0 - a_unit.y);
}`;

const SNAPSHOT_FRAGMENT = `
precision mediump float;
uniform sampler2D u_snapshot;
varying vec2 v_uv;
void main() {
  gl_FragColor = texture2D(u_snapshot, v_uv);
}`;

const FRAGMENT = `
precision mediump float;
uniform vec3 u_ringA;
uniform vec3 u_ringB;
varying vec4 v_colour;
varying float v_mark;
void main() {
  vec2 c = gl_PointCoord * 2.0 - 1.0;
  float r = dot(c, c);
  if (r > 1.0) discard;
  vec4 colour = v_colour;
  // Soft rim instead of multisampling: fade the outer part of the disc.
  float edge = 1.0 - smoothstep(0.6, 1.0, r);
  if (v_mark > 0.5 && r > 0.4) {
    vec3 ring = v_mark < 1.5 ? u_ringA : (v_mark < 2.5 ? u_ringB : mix(u_ringA, u_ringB, 0.5));
    colour = vec4(ring, 1.0);
  }
  colour.a *= edge;
  gl_FragColor = vec4(colour.rgb * colour.a, colour.a);
}`;

export interface View {
  /** CSS pixels of the plot. */
  width: number;
  height: number;
  dpr: number;
  /** d3-zoom transform: screen = base · k + (x, y). */
  k: number;
  x: number;
  y: number;
  pointSize: number;
  /** Opacity of unmarked points (1 without selections). */
  dim: number;
}

export const RING_A: [number, number, number] = [0.07, 0.07, 0.07];
export const RING_B: [number, number, number] = [0.85, 0.1, 0.55];

interface Snapshot {
  framebuffer: WebGLFramebuffer;
  texture: WebGLTexture;
  width: number;
  height: number;
  /** The view it was drawn at; null until drawn, and again when the points change. */
  view: View | null;
}

export class PointsRenderer {
  readonly #gl: WebGLRenderingContext;
  readonly #program: WebGLProgram;
  readonly #snapshotProgram: WebGLProgram;
  readonly #unitSquare: WebGLBuffer;
  #snapshot: Snapshot | null = null;
  readonly #buffers: { pos: WebGLBuffer; colour: WebGLBuffer; mark: WebGLBuffer };
  readonly #attributes: { pos: number; colour: number; mark: number };
  readonly #uniforms: Record<string, WebGLUniformLocation | null>;
  #count = 0;
  /** Whether any point is marked: without marks the second pass would only cull every vertex. */
  #anyMarked = false;

  /** Throws when the browser offers no WebGL (the caller shows why instead of a plot). */
  constructor(canvas: HTMLCanvasElement) {
    // preserveDrawingBuffer: the canvas can be read back (figure export, tests) after a frame.
    // No MSAA: round points get their smooth edge in the fragment shader, and multisampling
    // tripled the frame time under SwiftShader (the software WebGL of GPU-less machines).
    const gl = canvas.getContext('webgl', { antialias: false, premultipliedAlpha: true, preserveDrawingBuffer: true });
    if (!gl) throw new Error('This browser offers no WebGL (it may be disabled, or the graphics driver is blocklisted).');
    this.#gl = gl;
    this.#program = link(gl, compile(gl, gl.VERTEX_SHADER, VERTEX), compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    const buffer = () => {
      const b = gl.createBuffer();
      if (!b) throw new Error('WebGL could not allocate a buffer');
      return b;
    };
    this.#buffers = { pos: buffer(), colour: buffer(), mark: buffer() };
    this.#snapshotProgram = link(gl, compile(gl, gl.VERTEX_SHADER, SNAPSHOT_VERTEX), compile(gl, gl.FRAGMENT_SHADER, SNAPSHOT_FRAGMENT));
    this.#unitSquare = buffer();
    this.#upload(this.#unitSquare, new Float32Array([0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1]));
    this.#attributes = {
      pos: gl.getAttribLocation(this.#program, 'a_pos'),
      colour: gl.getAttribLocation(this.#program, 'a_colour'),
      mark: gl.getAttribLocation(this.#program, 'a_mark'),
    };
    this.#uniforms = Object.fromEntries(
      ['u_size', 'u_zoom', 'u_pad', 'u_pointSize', 'u_dpr', 'u_pass', 'u_dim', 'u_ringA', 'u_ringB'].map((name) => [
        name,
        gl.getUniformLocation(this.#program, name),
      ]),
    );
  }

  /** Interleaved normalised (x, y), see layout.normalise. */
  setPositions(normalised: Float32Array): void {
    this.#count = normalised.length / 2;
    this.#forgetSnapshot();
    this.#upload(this.#buffers.pos, normalised);
  }

  setColours(rgba: Uint8Array): void {
    this.#forgetSnapshot();
    this.#upload(this.#buffers.colour, rgba);
  }

  /** Per point: 0 none, 1 group A, 2 group B, 3 both. */
  setMarks(marks: Uint8Array): void {
    this.#anyMarked = marks.some((m) => m > 0);
    this.#forgetSnapshot();
    this.#upload(this.#buffers.mark, marks);
  }

  /** Every point at `view`: into the snapshot, then onto the canvas. */
  render(view: View): void {
    const gl = this.#gl;
    const snapshot = this.#snapshotFor(gl.canvas.width, gl.canvas.height);
    gl.bindFramebuffer(gl.FRAMEBUFFER, snapshot?.framebuffer ?? null);
    this.#drawPoints(view);
    if (!snapshot) return;
    snapshot.view = view;
    this.#drawSnapshot(snapshot, view);
  }

  /**
   * The last exact frame moved and scaled to `view` (its edges stay empty until the next exact
   * frame); false when there is none to move (the points, colours or canvas changed since).
   */
  renderMoved(view: View): boolean {
    const snapshot = this.#snapshot;
    if (!snapshot?.view || snapshot.width !== this.#gl.canvas.width || snapshot.height !== this.#gl.canvas.height) return false;
    if (snapshot.view.width !== view.width || snapshot.view.height !== view.height) return false;
    this.#drawSnapshot(snapshot, view);
    return true;
  }

  #drawSnapshot(snapshot: Snapshot, view: View): void {
    const gl = this.#gl;
    const drawn = snapshot.view as View;
    // screen = base·k + t; the snapshot's pixel p = base·k₀ + t₀ lands at (p − t₀)·k/k₀ + t.
    const scale = view.k / drawn.k;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, gl.canvas.width, gl.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.disable(gl.BLEND);
    gl.useProgram(this.#snapshotProgram);
    // The points' attribute arrays would otherwise stay enabled under a program that has fewer.
    for (const location of Object.values(this.#attributes)) if (location >= 0) gl.disableVertexAttribArray(location);
    this.#bind(this.#unitSquare, gl.getAttribLocation(this.#snapshotProgram, 'a_unit'), 2, gl.FLOAT, false);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, snapshot.texture);
    gl.uniform1i(gl.getUniformLocation(this.#snapshotProgram, 'u_snapshot'), 0);
    gl.uniform2f(gl.getUniformLocation(this.#snapshotProgram, 'u_size'), view.width, view.height);
    gl.uniform3f(gl.getUniformLocation(this.#snapshotProgram, 'u_move'), scale, view.x - drawn.x * scale, view.y - drawn.y * scale);
    gl.drawArrays(gl.TRIANGLES, 0, 6);
  }

  /** The texture the exact frames go to, at the canvas's size; null if the context cannot make one. */
  #snapshotFor(width: number, height: number): Snapshot | null {
    const gl = this.#gl;
    if (this.#snapshot && this.#snapshot.width === width && this.#snapshot.height === height) return this.#snapshot;
    this.#dropSnapshot();
    const texture = gl.createTexture();
    const framebuffer = gl.createFramebuffer();
    if (!texture || !framebuffer) return null;
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    // Not a power of two: no mipmaps, clamped edges (WebGL 1).
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    const complete = gl.checkFramebufferStatus(gl.FRAMEBUFFER) === gl.FRAMEBUFFER_COMPLETE;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    if (!complete) {
      gl.deleteFramebuffer(framebuffer);
      gl.deleteTexture(texture);
      return null;
    }
    this.#snapshot = { framebuffer, texture, width, height, view: null };
    return this.#snapshot;
  }

  #forgetSnapshot(): void {
    if (this.#snapshot) this.#snapshot.view = null;
  }

  #dropSnapshot(): void {
    if (!this.#snapshot) return;
    this.#gl.deleteFramebuffer(this.#snapshot.framebuffer);
    this.#gl.deleteTexture(this.#snapshot.texture);
    this.#snapshot = null;
  }

  #drawPoints(view: View): void {
    const gl = this.#gl;
    const canvas = gl.canvas as HTMLCanvasElement;
    gl.viewport(0, 0, canvas.width, canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.#count === 0) return;
    gl.useProgram(this.#program);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    this.#bind(this.#buffers.pos, this.#attributes.pos, 2, gl.FLOAT, false);
    this.#bind(this.#buffers.colour, this.#attributes.colour, 4, gl.UNSIGNED_BYTE, true);
    this.#bind(this.#buffers.mark, this.#attributes.mark, 1, gl.UNSIGNED_BYTE, false);
    const u = this.#uniforms;
    gl.uniform2f(u.u_size ?? null, view.width, view.height);
    gl.uniform3f(u.u_zoom ?? null, view.k, view.x, view.y);
    gl.uniform1f(u.u_pad ?? null, PLOT_PADDING);
    gl.uniform1f(u.u_pointSize ?? null, view.pointSize);
    gl.uniform1f(u.u_dpr ?? null, view.dpr);
    gl.uniform1f(u.u_dim ?? null, view.dim);
    gl.uniform3f(u.u_ringA ?? null, ...RING_A);
    gl.uniform3f(u.u_ringB ?? null, ...RING_B);
    for (const pass of this.#anyMarked ? [0, 1] : [0]) {
      gl.uniform1f(u.u_pass ?? null, pass);
      gl.drawArrays(gl.POINTS, 0, this.#count);
    }
  }

  dispose(): void {
    const gl = this.#gl;
    this.#dropSnapshot();
    for (const b of [...Object.values(this.#buffers), this.#unitSquare]) gl.deleteBuffer(b);
    gl.deleteProgram(this.#program);
    gl.deleteProgram(this.#snapshotProgram);
  }

  #upload(buffer: WebGLBuffer, data: ArrayBufferView): void {
    const gl = this.#gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
  }

  #bind(buffer: WebGLBuffer, location: number, size: number, type: number, normalized: boolean): void {
    const gl = this.#gl;
    if (location < 0) return;
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.enableVertexAttribArray(location);
    gl.vertexAttribPointer(location, size, type, normalized, 0, 0);
  }
}

function compile(gl: WebGLRenderingContext, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type);
  if (!shader) throw new Error('WebGL could not create a shader');
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
    throw new Error(`WebGL shader did not compile: ${gl.getShaderInfoLog(shader) ?? 'no log'}`);
  }
  return shader;
}

function link(gl: WebGLRenderingContext, vertex: WebGLShader, fragment: WebGLShader): WebGLProgram {
  const program = gl.createProgram();
  if (!program) throw new Error('WebGL could not create a program');
  gl.attachShader(program, vertex);
  gl.attachShader(program, fragment);
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    throw new Error(`WebGL program did not link: ${gl.getProgramInfoLog(program) ?? 'no log'}`);
  }
  return program;
}
