// The target-pose canvas: draws the skeleton (reference colours and limbs, served by /api/skeleton) over the framed
// source photo, and edits it with the mouse (drag a joint) or the keyboard (pick, move, hide). Every edit goes
// through the undo history.

import { History, clamp, cloneJoints, sameJoints } from "./pose.js";

const STEP_KEYS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

export class PoseEditor {
  /** size: [H, W] model pixels; skeleton: {limbs, colors, names}; onChange(joints) after every change. */
  constructor(canvas, { size, skeleton, joints, onChange }) {
    this.canvas = canvas;
    this.size = size;
    this.skeleton = skeleton;
    this.joints = cloneJoints(joints);
    this.onChange = onChange;
    this.history = new History();
    this.zoom = 4;
    this.selected = 4; // the right wrist: the joint people move first
    this.ghost = null;
    this.showGhost = true;
    this.drag = null;
    canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    canvas.addEventListener("pointerup", (e) => this.pointerUp(e));
    canvas.addEventListener("pointercancel", (e) => this.pointerUp(e));
    canvas.addEventListener("keydown", (e) => this.keyDown(e));
    this.resize();
  }

  /** Replace the pose as one undoable step (library pose, copy, mirror, loaded file). */
  apply(joints) {
    if (sameJoints(joints, this.joints)) return;
    this.history.record(this.joints);
    this.joints = cloneJoints(joints);
    this.changed();
  }

  undo() { this.restore(this.history.undo(this.joints)); }
  redo() { this.restore(this.history.redo(this.joints)); }

  restore(joints) {
    if (!joints) return;
    this.joints = joints;
    this.changed();
  }

  changed() {
    this.draw();
    this.onChange(this.joints);
  }

  select(index) {
    this.selected = index;
    this.draw();
    this.onChange(this.joints);
  }

  toggleVisible(index) {
    const next = cloneJoints(this.joints);
    next[index].visible = !next[index].visible;
    this.selected = index;
    this.apply(next);
  }

  setZoom(zoom) {
    this.zoom = zoom;
    this.resize();
  }

  /** The source photo and its crop box [left, top, right, bottom] (photo pixels), drawn faintly under the pose. */
  setGhost(image, box) {
    this.ghost = image ? { image, box } : null;
    this.draw();
  }

  resize() {
    const [h, w] = this.size;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = `${w * this.zoom}px`;
    this.canvas.style.height = `${h * this.zoom}px`;
    this.canvas.width = Math.round(w * this.zoom * dpr);
    this.canvas.height = Math.round(h * this.zoom * dpr);
    this.draw();
  }

  /** Screen position (CSS pixels) of a joint: the centre of its model pixel. */
  toScreen(j) {
    return [(j.x + 0.5) * this.zoom, (j.y + 0.5) * this.zoom];
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    const [h, w] = this.size;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w * this.zoom, h * this.zoom);
    if (this.ghost && this.showGhost) {
      const [l, t, r, b] = this.ghost.box;
      ctx.globalAlpha = 0.4;
      ctx.drawImage(this.ghost.image, l, t, r - l, b - t, 0, 0, w * this.zoom, h * this.zoom);
      ctx.globalAlpha = 1;
    }
    const lineWidth = Math.max(2, this.zoom * 0.5);
    const radius = Math.max(4, this.zoom * 0.8);
    ctx.lineCap = "round";
    ctx.lineWidth = lineWidth;
    ctx.strokeStyle = "rgb(200 200 200 / 90%)";
    for (const [a, b] of this.skeleton.limbs) {
      const ja = this.joints[a];
      const jb = this.joints[b];
      if (!ja.visible || !jb.visible) continue;
      const [xa, ya] = this.toScreen(ja);
      const [xb, yb] = this.toScreen(jb);
      ctx.beginPath();
      ctx.moveTo(xa, ya);
      ctx.lineTo(xb, yb);
      ctx.stroke();
    }
    this.joints.forEach((j, i) => {
      if (!j.visible) return;
      const [x, y] = this.toScreen(j);
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${this.skeleton.colors[i].join(" ")})`;
      ctx.fill();
      if (i === this.selected) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#fff";
        ctx.beginPath();
        ctx.arc(x, y, radius + 3, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.lineWidth = lineWidth;
        ctx.strokeStyle = "rgb(200 200 200 / 90%)";
      }
    });
  }

  /** Index of the visible joint nearest to a pointer event, if within reach. */
  hit(event) {
    const rect = this.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const reach = Math.max(10, this.zoom * 1.5);
    let best = -1;
    let bestDist = reach * reach;
    this.joints.forEach((j, i) => {
      if (!j.visible) return;
      const [x, y] = this.toScreen(j);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d <= bestDist) {
        best = i;
        bestDist = d;
      }
    });
    return best;
  }

  modelPoint(event) {
    const rect = this.canvas.getBoundingClientRect();
    const [h, w] = this.size;
    return {
      y: clamp(Math.floor((event.clientY - rect.top) / this.zoom), 0, h - 1),
      x: clamp(Math.floor((event.clientX - rect.left) / this.zoom), 0, w - 1),
    };
  }

  pointerDown(event) {
    const index = this.hit(event);
    if (index < 0) return;
    event.preventDefault();
    this.canvas.focus();
    this.canvas.setPointerCapture(event.pointerId);
    this.canvas.classList.add("dragging");
    this.drag = { index, before: cloneJoints(this.joints) };
    this.select(index);
  }

  pointerMove(event) {
    if (!this.drag) return;
    const p = this.modelPoint(event);
    const j = this.joints[this.drag.index];
    if (j.y === p.y && j.x === p.x) return;
    j.y = p.y;
    j.x = p.x;
    this.draw();
  }

  pointerUp() {
    if (!this.drag) return;
    const { before } = this.drag;
    this.drag = null;
    this.canvas.classList.remove("dragging");
    if (!sameJoints(before, this.joints)) {
      this.history.record(before);
      this.changed();
    }
  }

  keyDown(event) {
    const n = this.joints.length;
    if (event.key === "]" || event.key === "[") {
      this.select((this.selected + (event.key === "]" ? 1 : n - 1)) % n);
    } else if (event.key === "h" || event.key === "H") {
      this.toggleVisible(this.selected);
    } else if (STEP_KEYS[event.key]) {
      const [dy, dx] = STEP_KEYS[event.key].map((v) => v * (event.shiftKey ? 5 : 1));
      const [h, w] = this.size;
      const next = cloneJoints(this.joints);
      const j = next[this.selected];
      j.y = clamp(j.y + dy, 0, h - 1);
      j.x = clamp(j.x + dx, 0, w - 1);
      j.visible = true;
      this.apply(next);
    } else {
      return;
    }
    event.preventDefault();
  }
}
