/** A file of the package (engine module, weights) imported through a bundler's asset handling
 * (webpack's asset modules, Vite's `?url`): its URL. Not a JavaScript module: in Node.js, read
 * the file instead. */
declare const url: string;
export default url;
