import { ServiceDetail } from './detail/service.detail';
import { hrefOf, useNavigation } from './common/navigation.hook';
import { ServicesPage } from './services/services.page';

export function App() {
  const { page, navigate } = useNavigation();
  return (
    <>
      <header className="top">
        <h1>
          <a
            href={hrefOf({ kind: 'services' })}
            onClick={(event) => {
              event.preventDefault();
              navigate({ kind: 'services' });
            }}
          >
            aiplane
          </a>
        </h1>
        <a href="/docs">API reference</a>
      </header>
      <main>
        {page.kind === 'services' ? (
          <ServicesPage navigate={navigate} />
        ) : (
          <ServiceDetail key={page.id} id={page.id} navigate={navigate} />
        )}
      </main>
    </>
  );
}
