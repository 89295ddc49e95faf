// The page's client: the OpenFeature web SDK with the OFREP web provider,
// configured with a client token minted by edgefn (a browser never holds
// an API key). web.test.mjs calls window.e2e.
import { OpenFeature } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

function details(d) {
  return { value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode, flagMetadata: d.flagMetadata };
}

window.e2e = {
  async start(baseUrl, token, context) {
    await OpenFeature.setContext(context);
    const provider = new OFREPWebProvider({
      baseUrl,
      headers: [['Authorization', `Bearer ${token}`]],
      cacheMode: 'disabled',
      pollInterval: 0,
      disableVisibilityRefresh: true,
    });
    await OpenFeature.setProviderAndWait(provider);
  },
  async setContext(context) {
    await OpenFeature.setContext(context);
  },
  evaluate() {
    const c = OpenFeature.getClient();
    const out = {
      newCheckout: details(c.getBooleanDetails('new-checkout', false)),
      buttonColor: details(c.getStringDetails('button-color', 'none')),
      retryLimit: details(c.getNumberDetails('retry-limit', -1)),
      discountRate: details(c.getNumberDetails('discount-rate', -1)),
      banner: details(c.getObjectDetails('banner', {})),
      ranking: details(c.getStringDetails('ranking', '')),
      expressShipping: details(c.getBooleanDetails('express-shipping', true)),
      serverOnly: details(c.getBooleanDetails('server-only', false)),
      missing: details(c.getBooleanDetails('no-such-flag', true)),
      mismatch: details(c.getBooleanDetails('button-color', true)),
    };
    document.getElementById('out').textContent = JSON.stringify(out, null, 2);
    return out;
  },
};
window.e2eReady = true;
