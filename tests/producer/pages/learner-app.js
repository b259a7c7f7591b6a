// The learner app's course page, reduced to what matters here: it calls trackCourseVisit when a
// course page renders. ?visit=<JSON> is the visit rendered on load (as after a reload).
import { trackCourseVisit } from '/producer/course-visit.js';

const results = (window.__results = []);

window.app = {
  /** A render of the course page with these props. */
  visit(props) {
    const outcome = trackCourseVisit(props);
    results.push(outcome);
    return outcome;
  },
  /** In-page navigation (no reload), then the render of the new route. The test page's own
   * query (which tracker, which storage) stays, so that a reload keeps the same doubles. */
  navigate(path, props) {
    history.pushState({}, '', path + location.search);
    return this.visit(props);
  },
};

const onLoad = new URLSearchParams(location.search).get('visit');
if (onLoad !== null) window.app.visit(JSON.parse(onLoad));
// Reached only if nothing above threw into the page.
document.body.dataset.ready = '1';
