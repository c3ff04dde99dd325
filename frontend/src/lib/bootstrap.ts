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

let cached: Bootstrap | null = null;

export function readBootstrap(): Bootstrap {
  if (cached) return cached;
  const element = document.getElementById('app-bootstrap');
  let parsed: Partial<Bootstrap> = {};
  try {
    parsed = element?.textContent ? JSON.parse(element.textContent) : {};
  } catch {
    parsed = {};
  }
  cached = { ...defaults, ...parsed };
  return cached;
}
