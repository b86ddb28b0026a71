import { useEffect, useState } from 'react';

/** The app's base path, as Vite's `base` and the gateway's mount. */
const BASE = '/ui/';

export type Page = { kind: 'services' } | { kind: 'service'; id: string };

// Ids are job ids or group ids (docs/openapi.json: ^(sg-)?[0-9]{1,12}$); anything else is the list.
const SERVICE_PAGE = /^services\/((?:sg-)?[0-9]{1,12})\/?$/;

function pageOf(pathname: string): Page {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : '';
  const match = SERVICE_PAGE.exec(rest);
  return match?.[1] === undefined ? { kind: 'services' } : { kind: 'service', id: match[1] };
}

export function hrefOf(page: Page): string {
  return page.kind === 'services' ? BASE : `${BASE}services/${encodeURIComponent(page.id)}`;
}

/** Pages are real URLs under /ui/ (the gateway answers each with the app), so reload and back work. */
export function useNavigation(): { page: Page; navigate: (page: Page) => void } {
  const [page, setPage] = useState(() => pageOf(window.location.pathname));
  useEffect(() => {
    const onPop = (): void => {
      setPage(pageOf(window.location.pathname));
    };
    window.addEventListener('popstate', onPop);
    return () => {
      window.removeEventListener('popstate', onPop);
    };
  }, []);
  const navigate = (next: Page): void => {
    window.history.pushState(null, '', hrefOf(next));
    setPage(next);
    window.scrollTo(0, 0);
  };
  return { page, navigate };
}
