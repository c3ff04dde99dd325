/** Page data Django renders into <script id="app-bootstrap" type="application/json">. */
export interface Bootstrap {
  username: string;
  loginUrl: string;
  logoutUrl: string;
  signupUrl: string;
}

const defaults: Bootstrap = {
  username: '',
  loginUrl: '/accounts/login/',
  logoutUrl: '/accounts/logout/',
  signupUrl: '/accounts/signup/',
};

// Read once per element: the page renders it once; a test that renders its own is read anew.
let cached: { element: HTMLElement | null; value: Bootstrap } | null = null;

export function readBootstrap(): Bootstrap {
  const element = document.getElementById('app-bootstrap');
  if (cached && cached.element === element) return cached.value;
  let parsed: Partial<Bootstrap> = {};
  try {
    parsed = element?.textContent ? JSON.parse(element.textContent) : {};
  } catch {
    parsed = {};
  }
  cached = { element, value: { ...defaults, ...parsed } };
  return cached.value;
}
