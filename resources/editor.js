/**
 * What the editor dialogs of the audio-tap nodes share. Node-RED serves a module's resources/
 * folder at resources/<module>/; every node's .html loads this file before registering its
 * type, so it runs once per editor load and defines window.AudioTapEditor.
 */
(function () {
    'use strict';
    if (window.AudioTapEditor) { return; }

    /** The palette category and colour of every audio-tap node. */
    var PALETTE = { category: 'audio', color: '#a6bbcf' };

    /**
     * Registers a node type in the audio palette: `definition` is what RED.nodes.registerType
     * takes, without category and colour.
     */
    function register(type, definition) {
        RED.nodes.registerType(type, $.extend({}, PALETTE, definition));
    }

    /**
     * A `validate` function for a numeric property, read as the runtime reads numbers
     * (src/numbers.ts: Node-RED's number syntax, "1e3" included): empty means the default;
     * otherwise lo ≤ value ≤ hi. `options.zero` also accepts 0 ("off" for rotation and gaps);
     * `options.required` refuses empty.
     */
    function range(lo, hi, options) {
        options = options || {};
        return function (v) {
            if (v === '' || v === undefined || v === null) { return !options.required; }
            if (!RED.validators.number()(v)) { return false; }
            var n = Number(v);
            return (options.zero === true && n === 0) || (n >= lo && n <= hi);
        };
    }

    /** True for a comma-separated list of PIDs ("1234", "1234, 5678"). */
    function isPidList(v) { return /^\s*\d+(\s*,\s*\d+)*\s*$/.test(String(v)); }

    /**
     * True for tap-source's tracks as src/node-red/targets.ts parseTrackList reads them: 1 to 16
     * targets separated by ";" or new lines, each "system", "input", "input:<source>" or apps.
     */
    function isTrackList(v) {
        var items = String(v === undefined || v === null ? '' : v).split(/[;\n]/)
            .map(function (item) { return item.trim(); })
            .filter(function (item) { return item !== ''; });
        if (items.length < 1 || items.length > 16) { return false; }
        return items.every(function (item) {
            var lower = item.toLowerCase();
            if (lower === 'system' || lower === 'input' || lower.indexOf('input:') === 0) { return true; }
            return item.split(',').some(function (app) { return app.trim() !== ''; });
        });
    }

    window.AudioTapEditor = { register: register, range: range, isPidList: isPidList, isTrackList: isTrackList };
})();
