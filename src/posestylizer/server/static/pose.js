// The target pose as the page edits it: 18 joints {y, x, visible} in model pixels (COCO-18 order, as the API), an
// undo/redo history, mirroring, and OpenPose JSON in and out. No drawing and no network here.

export const MISSING = -1;

/** Joints from (18, 2) [y, x] keypoints (-1 = missing). A missing joint keeps a position to be restored at:
 * the fallback joint's, or the middle of the canvas. */
export function jointsFromKeypoints(keypoints, size, fallback = null) {
  const [h, w] = size;
  return keypoints.map(([y, x], i) => {
    const present = y !== MISSING && x !== MISSING;
    if (present) return { y: clamp(Math.round(y), 0, h - 1), x: clamp(Math.round(x), 0, w - 1), visible: true };
    const f = fallback ? fallback[i] : { y: Math.floor(h / 2), x: Math.floor(w / 2) };
    return { y: f.y, x: f.x, visible: false };
  });
}

/** (18, 2) [y, x] integer keypoints for the API; hidden joints are [-1, -1]. */
export function keypointsFromJoints(joints) {
  return joints.map((j) => (j.visible ? [j.y, j.x] : [MISSING, MISSING]));
}

export function cloneJoints(joints) {
  return joints.map((j) => ({ ...j }));
}

export function sameJoints(a, b) {
  return a.length === b.length && a.every((j, i) => j.y === b[i].y && j.x === b[i].x && j.visible === b[i].visible);
}

/** Left-right mirror image: x -> W-1-x, and each joint takes its mirror partner's place (flip = partner indices). */
export function mirrorJoints(joints, width, flip) {
  return flip.map((partner) => {
    const j = joints[partner];
    return { y: j.y, x: width - 1 - j.x, visible: j.visible };
  });
}

export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/** Undo/redo of whole-pose snapshots (18 joints are tiny, so snapshots are simpler than inverse operations). */
export class History {
  constructor(limit = 200) {
    this.limit = limit;
    this.past = [];
    this.future = [];
  }
  record(before) {
    this.past.push(cloneJoints(before));
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }
  undo(current) {
    if (!this.past.length) return null;
    this.future.push(cloneJoints(current));
    return this.past.pop();
  }
  redo(current) {
    if (!this.future.length) return null;
    this.past.push(cloneJoints(current));
    return this.future.pop();
  }
  get canUndo() { return this.past.length > 0; }
  get canRedo() { return this.future.length > 0; }
}

// BODY_25 -> COCO-18: BODY_25 adds MidHip at 8 and the feet after 18; the rest is the COCO-18 order shifted.
const BODY25_TO_COCO18 = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];

/** The pose as OpenPose JSON, as the ControlNet openpose-editor extensions read and write it:
 * pose_keypoints_2d = [x, y, confidence] x 18 in canvas pixels; a hidden joint is 0, 0, 0. */
export function toOpenPose(joints, size) {
  const [h, w] = size;
  const flat = joints.flatMap((j) => (j.visible ? [j.x, j.y, 1] : [0, 0, 0]));
  return { people: [{ pose_keypoints_2d: flat }], canvas_width: w, canvas_height: h };
}

/** (18, 2) [y, x] model-pixel keypoints from OpenPose JSON text; throws an Error whose message says what is wrong.
 * The first person is used; coordinates are scaled from canvas_width x canvas_height (default: the model size). */
export function fromOpenPose(text, size, fileName = "the file") {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${fileName} is not JSON (${err.message})`);
  }
  const people = data && Array.isArray(data.people) ? data.people : null;
  if (!people) throw new Error(`${fileName} has no "people" list: expected OpenPose JSON ({"people": [{"pose_keypoints_2d": [...]}]})`);
  if (!people.length) throw new Error(`${fileName} has no person in "people"`);
  const flat = people[0].pose_keypoints_2d;
  if (!Array.isArray(flat) || !flat.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new Error(`${fileName}: pose_keypoints_2d must be a list of numbers`);
  }
  let order;
  if (flat.length === 18 * 3) order = [...Array(18).keys()];
  else if (flat.length === 25 * 3) order = BODY25_TO_COCO18;
  else throw new Error(`${fileName}: pose_keypoints_2d has ${flat.length} numbers; expected 54 (COCO-18) or 75 (BODY_25)`);
  const [h, w] = size;
  const cw = Number(data.canvas_width) > 0 ? Number(data.canvas_width) : w;
  const ch = Number(data.canvas_height) > 0 ? Number(data.canvas_height) : h;
  return order.map((k) => {
    const [x, y, c] = flat.slice(3 * k, 3 * k + 3);
    if (!(c > 0)) return [MISSING, MISSING];
    const my = Math.round((y * h) / ch);
    const mx = Math.round((x * w) / cw);
    return my < 0 || my >= h || mx < 0 || mx >= w ? [MISSING, MISSING] : [my, mx];
  });
}
