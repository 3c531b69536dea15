namespace Virt.Devices;

/// <summary>The keys of a US 104-key PC keyboard, named by their US legend (position, not character).</summary>
public enum KeyboardKey
{
    /// <summary>Esc.</summary>
    Escape,

    /// <summary>1 !.</summary>
    D1,

    /// <summary>2 @.</summary>
    D2,

    /// <summary>3 #.</summary>
    D3,

    /// <summary>4 $.</summary>
    D4,

    /// <summary>5 %.</summary>
    D5,

    /// <summary>6 ^.</summary>
    D6,

    /// <summary>7 &amp;.</summary>
    D7,

    /// <summary>8 *.</summary>
    D8,

    /// <summary>9 (.</summary>
    D9,

    /// <summary>0 ).</summary>
    D0,

    /// <summary>- _.</summary>
    Minus,

    /// <summary>= +.</summary>
    EqualsSign,

    /// <summary>Backspace.</summary>
    Backspace,

    /// <summary>Tab.</summary>
    Tab,

    /// <summary>Q.</summary>
    Q,

    /// <summary>W.</summary>
    W,

    /// <summary>E.</summary>
    E,

    /// <summary>R.</summary>
    R,

    /// <summary>T.</summary>
    T,

    /// <summary>Y.</summary>
    Y,

    /// <summary>U.</summary>
    U,

    /// <summary>I.</summary>
    I,

    /// <summary>O.</summary>
    O,

    /// <summary>P.</summary>
    P,

    /// <summary>[ {.</summary>
    LeftBracket,

    /// <summary>] }.</summary>
    RightBracket,

    /// <summary>Enter (main block).</summary>
    Enter,

    /// <summary>Left Ctrl.</summary>
    LeftControl,

    /// <summary>A.</summary>
    A,

    /// <summary>S.</summary>
    S,

    /// <summary>D.</summary>
    D,

    /// <summary>F.</summary>
    F,

    /// <summary>G.</summary>
    G,

    /// <summary>H.</summary>
    H,

    /// <summary>J.</summary>
    J,

    /// <summary>K.</summary>
    K,

    /// <summary>L.</summary>
    L,

    /// <summary>; :.</summary>
    Semicolon,

    /// <summary>' ".</summary>
    Apostrophe,

    /// <summary>` ~.</summary>
    Grave,

    /// <summary>Left Shift.</summary>
    LeftShift,

    /// <summary>\ |.</summary>
    Backslash,

    /// <summary>Z.</summary>
    Z,

    /// <summary>X.</summary>
    X,

    /// <summary>C.</summary>
    C,

    /// <summary>V.</summary>
    V,

    /// <summary>B.</summary>
    B,

    /// <summary>N.</summary>
    N,

    /// <summary>M.</summary>
    M,

    /// <summary>, &lt;.</summary>
    Comma,

    /// <summary>. &gt;.</summary>
    Period,

    /// <summary>/ ?.</summary>
    Slash,

    /// <summary>Right Shift.</summary>
    RightShift,

    /// <summary>Keypad *.</summary>
    KeypadMultiply,

    /// <summary>Left Alt.</summary>
    LeftAlt,

    /// <summary>Space bar.</summary>
    Space,

    /// <summary>Caps Lock.</summary>
    CapsLock,

    /// <summary>F1.</summary>
    F1,

    /// <summary>F2.</summary>
    F2,

    /// <summary>F3.</summary>
    F3,

    /// <summary>F4.</summary>
    F4,

    /// <summary>F5.</summary>
    F5,

    /// <summary>F6.</summary>
    F6,

    /// <summary>F7.</summary>
    F7,

    /// <summary>F8.</summary>
    F8,

    /// <summary>F9.</summary>
    F9,

    /// <summary>F10.</summary>
    F10,

    /// <summary>F11.</summary>
    F11,

    /// <summary>F12.</summary>
    F12,

    /// <summary>Num Lock.</summary>
    NumLock,

    /// <summary>Scroll Lock.</summary>
    ScrollLock,

    /// <summary>Keypad 7 / Home.</summary>
    Keypad7,

    /// <summary>Keypad 8 / Up.</summary>
    Keypad8,

    /// <summary>Keypad 9 / PgUp.</summary>
    Keypad9,

    /// <summary>Keypad -.</summary>
    KeypadMinus,

    /// <summary>Keypad 4 / Left.</summary>
    Keypad4,

    /// <summary>Keypad 5.</summary>
    Keypad5,

    /// <summary>Keypad 6 / Right.</summary>
    Keypad6,

    /// <summary>Keypad +.</summary>
    KeypadPlus,

    /// <summary>Keypad 1 / End.</summary>
    Keypad1,

    /// <summary>Keypad 2 / Down.</summary>
    Keypad2,

    /// <summary>Keypad 3 / PgDn.</summary>
    Keypad3,

    /// <summary>Keypad 0 / Ins.</summary>
    Keypad0,

    /// <summary>Keypad . / Del.</summary>
    KeypadPeriod,

    /// <summary>Keypad Enter.</summary>
    KeypadEnter,

    /// <summary>Right Ctrl.</summary>
    RightControl,

    /// <summary>Keypad /.</summary>
    KeypadDivide,

    /// <summary>Right Alt (AltGr).</summary>
    RightAlt,

    /// <summary>Home.</summary>
    Home,

    /// <summary>Up arrow.</summary>
    Up,

    /// <summary>Page Up.</summary>
    PageUp,

    /// <summary>Left arrow.</summary>
    Left,

    /// <summary>Right arrow.</summary>
    Right,

    /// <summary>End.</summary>
    End,

    /// <summary>Down arrow.</summary>
    Down,

    /// <summary>Page Down.</summary>
    PageDown,

    /// <summary>Insert.</summary>
    Insert,

    /// <summary>Delete.</summary>
    Delete,

    /// <summary>Left Windows key.</summary>
    LeftWindows,

    /// <summary>Right Windows key.</summary>
    RightWindows,

    /// <summary>Menu (application) key.</summary>
    Menu,

    /// <summary>Print Screen / SysRq.</summary>
    PrintScreen,

    /// <summary>Pause / Break (sends its make sequence only; it has no break code).</summary>
    Pause,
}
