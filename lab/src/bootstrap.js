/* global window, document */
/*
 * Entry point of the JupyterLab build (as JupyterLab's dev_mode/bootstrap.js).
 *
 * Loads every prebuilt (federated) extension the server lists in the page
 * config before anything else, so that the shared-module negotiation sees all
 * containers, then imports the application itself.
 */

// PageConfig is parsed by hand here: nothing shared may load before the
// federated containers have joined the share scope.
let configData = null;
function getOption(name) {
  if (configData === null) {
    const el = document.getElementById('jupyter-config-data');
    configData = el ? JSON.parse(el.textContent || '{}') : {};
  }
  return configData[name] || '';
}

// eslint-disable-next-line no-undef
__webpack_public_path__ = getOption('fullStaticUrl') + '/';

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.onerror = () => reject(new Error(`Failed to load the extension script ${url}`));
    script.onload = resolve;
    script.async = true;
    document.head.appendChild(script);
    script.src = url;
  });
}

async function loadComponent(url, scope) {
  await loadScript(url);
  // Dynamic remote containers, as in webpack's module federation docs.
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB[scope];
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
}

void (async function bootstrap() {
  const extensions = getOption('federated_extensions') || [];
  const labextensionsUrl = getOption('fullLabextensionsUrl');
  const loaded = await Promise.allSettled(
    extensions.map((data) => loadComponent(`${labextensionsUrl}/${data.name}/${data.load}`, data.name)),
  );
  for (const result of loaded) {
    if (result.status === 'rejected') {
      console.error(result.reason);
    }
  }
  const { main } = await import('./index.js');
  if (document.readyState === 'complete') {
    await main();
  } else {
    window.addEventListener('load', () => void main());
  }
})();
