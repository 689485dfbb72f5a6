import { tempEmbeddedStore } from '../helpers/stores.ts';
import { loginSuite } from './login-suite.ts';

loginSuite('embedded', async () => tempEmbeddedStore('bridge-login'));
