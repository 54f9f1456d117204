// The part of fengari's API the Lua engine uses (the package ships no type declarations).
declare module 'fengari' {
  type Any = any;
  const fengari: { lua: Any; lauxlib: Any; lualib: Any; to_luastring: (s: string) => Uint8Array; to_jsstring: (s: Uint8Array) => string };
  export default fengari;
}
declare module 'fengari/src/lobject.js' {
  const lobject: { luaO_tostring: (L: any, obj: any) => void; luaO_str2num: (s: Uint8Array, obj: any) => number };
  export default lobject;
}
declare module 'fengari/src/lstring.js' {
  const lstring: { luaS_bless: (L: any, s: Uint8Array) => any };
  export default lstring;
}
