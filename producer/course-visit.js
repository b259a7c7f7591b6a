/**
 * course_visit for the learner frontend: one Umami custom event per logged-in learner, course and
 * browser tab session, sent over the page's own Umami tracker (`window.umami`).
 *
 * No dependencies, no build step: copy this file or import it as an ES module. It never throws
 * into the page and reads nothing from `window` until it is called, so importing it during
 * server-side rendering is harmless. The rules are in producer/README.md and
 * docs/tracking-plan.md (`course_visit`).
 *
 * @module course-visit
 */

/** The event key, exactly as in the tracking catalog. */
export const COURSE_VISIT_EVENT = 'course_visit';

/** The `entry_type` values the warehouse knows; any other value is left out of the event. */
export const ENTRY_TYPES = Object.freeze(['catalog', 'deep_link', 'pay_redirect', 'resume']);

/** Prefix of the sessionStorage key that marks a course as visited in this tab session. */
export const STORAGE_PREFIX = 'course_visit:';

/** Umami answers 500 to a `payload.id` (the user id) longer than this. */
const MAX_USER_BID_LENGTH = 50;

/** Umami answers 500 to a longer property value, after it has stored the event without its data. */
const MAX_VALUE_LENGTH = 500;

/**
 * What a user id must not look like: the values the warehouse treats as "no user" (an e-mail
 * address, a phone number, a token). An opaque `user_bid` never matches any of these.
 */
const NOT_A_USER_BID = [
  /@/, // an e-mail address
  /\s/, // a name or a nickname ("Li Wei"), "Bearer …"
  /(^|\D)(\+?86[ -]?)?1[3-9]\d{9}(\D|$)/, // a mainland China mobile number, with or without +86
  /(^|\D)0\d{2,3}-\d{7,8}(\D|$)/, // a landline with its area code: 010-12345678
  /(^|\D)\d{3,4}[ .-]\d{3,4}[ .-]\d{4}(\D|$)/, // 415-555-0100, 138 1234 5678
  /^\+\d([ ().-]{0,2}\d){6,}/, // an international number: +1 (415) 555-0100
  /eyJ[A-Za-z0-9_+/-]{8,}/, // a JWT or another base64-encoded JSON token
];

/**
 * The users this page's tracker objects were identified with by this module. Keyed by the
 * tracker object, because the real tracker keeps its identity in a variable of the page: a
 * reload (or a tracker script loaded again) starts unidentified, so the memory must not outlive
 * the tracker either. That is why it is not kept in sessionStorage.
 * @type {WeakMap<object, string>}
 */
const identifiedTrackers = new WeakMap();

/**
 * Courses marked as visited in this page, used along with sessionStorage: when the browser
 * refuses sessionStorage (some privacy modes, sandboxed frames, a full quota), the mark still
 * holds for the life of the page.
 * @type {Map<string, string>}
 */
const visitedInPage = new Map();

/**
 * @typedef {object} CourseVisit
 * @property {string} shifuBid The course id (`shifu_bid`): a non-empty string.
 * @property {string | null | undefined} userBid The logged-in learner's stable `user_bid`; null or
 *   undefined for a guest. Never a nickname, an e-mail address or a phone number.
 * @property {string} [outlineItemBid] The outline item opened, if any (`outline_item_bid`).
 * @property {'catalog' | 'deep_link' | 'pay_redirect' | 'resume'} [entryType] How the learner arrived.
 * @property {boolean} [previewMode] True in creator preview. Only `false` or absent is a real visit.
 * @property {boolean} isLearnerCourseRoute True only on the learner-side course page.
 */

/**
 * @typedef {object} CourseVisitResult
 * @property {boolean} sent True when `umami.track('course_visit', …)` was called and did not throw.
 * @property {string} reason `sent`, or why nothing was sent: `invalid_arguments`, `not_course_route`,
 *   `preview`, `invalid_shifu_bid`, `guest`, `invalid_user_bid`, `already_sent`, `no_tracker`,
 *   `tracker_error`.
 */

/**
 * Send `course_visit` for this course page if the rules allow it. Call it whenever the course
 * page has its course and its user (on every render is fine): it sends at most once per tab
 * session, learner and course, and does nothing otherwise.
 *
 * @param {CourseVisit} visit
 * @returns {CourseVisitResult} what it did; it never throws.
 */
export function trackCourseVisit(visit) {
  try {
    return trackOnce(visit);
  } catch {
    return result(false, 'tracker_error');
  }
}

/**
 * @param {CourseVisit} visit
 * @returns {CourseVisitResult}
 */
function trackOnce(visit) {
  if (visit === null || typeof visit !== 'object') return result(false, 'invalid_arguments');
  const { shifuBid, userBid, outlineItemBid, entryType, previewMode, isLearnerCourseRoute } = visit;
  if (isLearnerCourseRoute !== true) return result(false, 'not_course_route');
  if (!(previewMode === undefined || previewMode === null || previewMode === false)) return result(false, 'preview');
  if (!isUsableString(shifuBid, MAX_VALUE_LENGTH)) return result(false, 'invalid_shifu_bid');
  if (userBid === undefined || userBid === null || userBid === '') return result(false, 'guest');
  if (!isUserBid(userBid)) return result(false, 'invalid_user_bid');

  const key = STORAGE_PREFIX + shifuBid;
  if (readMark(key) === userBid || visitedInPage.get(key) === userBid) return result(false, 'already_sent');

  const tracker = findTracker();
  if (tracker === null) return result(false, 'no_tracker');

  if (identifiedTrackers.get(tracker) !== userBid) {
    try {
      settle(tracker.identify(userBid), () => {
        if (identifiedTrackers.get(tracker) === userBid) identifiedTrackers.delete(tracker);
      });
    } catch {
      // Tracking now would send the event under another identity, or none: wait for the next call.
      return result(false, 'tracker_error');
    }
    identifiedTrackers.set(tracker, userBid);
  }

  /** @type {Record<string, string>} */
  const data = { shifu_bid: shifuBid };
  if (isUsableString(outlineItemBid, MAX_VALUE_LENGTH)) data.outline_item_bid = outlineItemBid;
  if (typeof entryType === 'string' && ENTRY_TYPES.includes(entryType)) data.entry_type = entryType;
  // preview_mode is left out: only real visits get this far.

  let sending;
  try {
    sending = tracker.track(COURSE_VISIT_EVENT, data);
  } catch {
    return result(false, 'tracker_error'); // not marked: a later call tries again
  }
  // Marked as soon as track() returned, so a rerender in the same tick does not send it twice;
  // a tracker whose promise rejects did not send it, so the mark is taken back.
  mark(key, userBid);
  settle(sending, () => unmark(key, userBid));
  return result(true, 'sent');
}

/**
 * @param {boolean} sent
 * @param {string} reason
 * @returns {CourseVisitResult}
 */
function result(sent, reason) {
  return { sent, reason };
}

/**
 * A non-empty string that is not only white space, at most `maxLength` characters long.
 * @param {unknown} value
 * @param {number} maxLength
 * @returns {value is string}
 */
function isUsableString(value, maxLength) {
  return typeof value === 'string' && value.trim() !== '' && value.length <= maxLength;
}

/**
 * A plausible opaque user id: a string of at most 50 characters that looks like no e-mail
 * address, phone number, name or token.
 * @param {unknown} value
 * @returns {value is string}
 */
function isUserBid(value) {
  if (!isUsableString(value, MAX_USER_BID_LENGTH)) return false;
  return !NOT_A_USER_BID.some((pattern) => pattern.test(value));
}

/**
 * The page's Umami tracker when it can identify and track; null when it is absent (not loaded
 * yet, blocked by an extension) or a stub without those functions.
 * @returns {{ identify: Function, track: Function } | null}
 */
function findTracker() {
  const tracker = typeof window === 'undefined' ? undefined : window.umami;
  if (tracker === null || (typeof tracker !== 'object' && typeof tracker !== 'function')) return null;
  if (typeof tracker.identify !== 'function' || typeof tracker.track !== 'function') return null;
  return tracker;
}

/**
 * Swallow the rejection of what the tracker returned (the real one returns a promise), so that it
 * never becomes an unhandled rejection in the page, and run `onRejected`.
 * @param {unknown} value
 * @param {() => void} onRejected
 */
function settle(value, onRejected) {
  if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
    try {
      value.then(undefined, () => {
        try {
          onRejected();
        } catch {
          // nothing to do: the page must not see it
        }
      });
    } catch {
      // a thenable whose then() throws: nothing to wait for
    }
  }
}

/** @returns {Storage | null} sessionStorage, or null when the browser refuses it. */
function storage() {
  try {
    return typeof window === 'undefined' ? null : window.sessionStorage;
  } catch {
    return null;
  }
}

/**
 * @param {string} key
 * @returns {string | null} the user_bid the course was marked for in this tab session.
 */
function readMark(key) {
  try {
    const store = storage();
    return store === null ? null : store.getItem(key);
  } catch {
    return null;
  }
}

/**
 * @param {string} key
 * @param {string} userBid
 */
function mark(key, userBid) {
  visitedInPage.set(key, userBid);
  try {
    storage()?.setItem(key, userBid);
  } catch {
    // refused or full: the in-page mark still holds
  }
}

/**
 * @param {string} key
 * @param {string} userBid
 */
function unmark(key, userBid) {
  if (visitedInPage.get(key) === userBid) visitedInPage.delete(key);
  try {
    const store = storage();
    if (store !== null && store.getItem(key) === userBid) store.removeItem(key);
  } catch {
    // refused: nothing was stored
  }
}
