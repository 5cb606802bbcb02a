// The trivial task of bench/runtime: double the element.
module.exports.double = async (event) => ({ value: event.element * 2 });
