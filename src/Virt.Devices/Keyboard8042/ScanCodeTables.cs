namespace Virt.Devices;

/// <summary>
/// Scan codes of each key in set 1 (XT) and set 2 (AT/MF2), and the 8042's set-2-to-set-1 translation
/// derived from them. Sources: IBM "Keyboards (101- and 102-Key)" technical reference, scan code
/// tables; OSDev wiki "PS/2 Keyboard". A value above FFh carries the E0h prefix in its high byte.
/// </summary>
internal static class ScanCodeTables
{
    /// <summary>Translation of set-2 bytes to set-1 bytes, as the 8042 does with command byte bit 6 set. Constant after construction.</summary>
    private static readonly byte[] s_set2ToSet1 = BuildTranslation();

    /// <summary>The set-1 and set-2 make codes of a key (not for PrintScreen and Pause, which are sequences).</summary>
    public static (ushort Set1, ushort Set2) Codes(KeyboardKey key) => key switch
    {
        KeyboardKey.Escape => (0x01, 0x76),
        KeyboardKey.D1 => (0x02, 0x16),
        KeyboardKey.D2 => (0x03, 0x1E),
        KeyboardKey.D3 => (0x04, 0x26),
        KeyboardKey.D4 => (0x05, 0x25),
        KeyboardKey.D5 => (0x06, 0x2E),
        KeyboardKey.D6 => (0x07, 0x36),
        KeyboardKey.D7 => (0x08, 0x3D),
        KeyboardKey.D8 => (0x09, 0x3E),
        KeyboardKey.D9 => (0x0A, 0x46),
        KeyboardKey.D0 => (0x0B, 0x45),
        KeyboardKey.Minus => (0x0C, 0x4E),
        KeyboardKey.EqualsSign => (0x0D, 0x55),
        KeyboardKey.Backspace => (0x0E, 0x66),
        KeyboardKey.Tab => (0x0F, 0x0D),
        KeyboardKey.Q => (0x10, 0x15),
        KeyboardKey.W => (0x11, 0x1D),
        KeyboardKey.E => (0x12, 0x24),
        KeyboardKey.R => (0x13, 0x2D),
        KeyboardKey.T => (0x14, 0x2C),
        KeyboardKey.Y => (0x15, 0x35),
        KeyboardKey.U => (0x16, 0x3C),
        KeyboardKey.I => (0x17, 0x43),
        KeyboardKey.O => (0x18, 0x44),
        KeyboardKey.P => (0x19, 0x4D),
        KeyboardKey.LeftBracket => (0x1A, 0x54),
        KeyboardKey.RightBracket => (0x1B, 0x5B),
        KeyboardKey.Enter => (0x1C, 0x5A),
        KeyboardKey.LeftControl => (0x1D, 0x14),
        KeyboardKey.A => (0x1E, 0x1C),
        KeyboardKey.S => (0x1F, 0x1B),
        KeyboardKey.D => (0x20, 0x23),
        KeyboardKey.F => (0x21, 0x2B),
        KeyboardKey.G => (0x22, 0x34),
        KeyboardKey.H => (0x23, 0x33),
        KeyboardKey.J => (0x24, 0x3B),
        KeyboardKey.K => (0x25, 0x42),
        KeyboardKey.L => (0x26, 0x4B),
        KeyboardKey.Semicolon => (0x27, 0x4C),
        KeyboardKey.Apostrophe => (0x28, 0x52),
        KeyboardKey.Grave => (0x29, 0x0E),
        KeyboardKey.LeftShift => (0x2A, 0x12),
        KeyboardKey.Backslash => (0x2B, 0x5D),
        KeyboardKey.Z => (0x2C, 0x1A),
        KeyboardKey.X => (0x2D, 0x22),
        KeyboardKey.C => (0x2E, 0x21),
        KeyboardKey.V => (0x2F, 0x2A),
        KeyboardKey.B => (0x30, 0x32),
        KeyboardKey.N => (0x31, 0x31),
        KeyboardKey.M => (0x32, 0x3A),
        KeyboardKey.Comma => (0x33, 0x41),
        KeyboardKey.Period => (0x34, 0x49),
        KeyboardKey.Slash => (0x35, 0x4A),
        KeyboardKey.RightShift => (0x36, 0x59),
        KeyboardKey.KeypadMultiply => (0x37, 0x7C),
        KeyboardKey.LeftAlt => (0x38, 0x11),
        KeyboardKey.Space => (0x39, 0x29),
        KeyboardKey.CapsLock => (0x3A, 0x58),
        KeyboardKey.F1 => (0x3B, 0x05),
        KeyboardKey.F2 => (0x3C, 0x06),
        KeyboardKey.F3 => (0x3D, 0x04),
        KeyboardKey.F4 => (0x3E, 0x0C),
        KeyboardKey.F5 => (0x3F, 0x03),
        KeyboardKey.F6 => (0x40, 0x0B),
        KeyboardKey.F7 => (0x41, 0x83),
        KeyboardKey.F8 => (0x42, 0x0A),
        KeyboardKey.F9 => (0x43, 0x01),
        KeyboardKey.F10 => (0x44, 0x09),
        KeyboardKey.F11 => (0x57, 0x78),
        KeyboardKey.F12 => (0x58, 0x07),
        KeyboardKey.NumLock => (0x45, 0x77),
        KeyboardKey.ScrollLock => (0x46, 0x7E),
        KeyboardKey.Keypad7 => (0x47, 0x6C),
        KeyboardKey.Keypad8 => (0x48, 0x75),
        KeyboardKey.Keypad9 => (0x49, 0x7D),
        KeyboardKey.KeypadMinus => (0x4A, 0x7B),
        KeyboardKey.Keypad4 => (0x4B, 0x6B),
        KeyboardKey.Keypad5 => (0x4C, 0x73),
        KeyboardKey.Keypad6 => (0x4D, 0x74),
        KeyboardKey.KeypadPlus => (0x4E, 0x79),
        KeyboardKey.Keypad1 => (0x4F, 0x69),
        KeyboardKey.Keypad2 => (0x50, 0x72),
        KeyboardKey.Keypad3 => (0x51, 0x7A),
        KeyboardKey.Keypad0 => (0x52, 0x70),
        KeyboardKey.KeypadPeriod => (0x53, 0x71),
        KeyboardKey.KeypadEnter => (0xE01C, 0xE05A),
        KeyboardKey.RightControl => (0xE01D, 0xE014),
        KeyboardKey.KeypadDivide => (0xE035, 0xE04A),
        KeyboardKey.RightAlt => (0xE038, 0xE011),
        KeyboardKey.Home => (0xE047, 0xE06C),
        KeyboardKey.Up => (0xE048, 0xE075),
        KeyboardKey.PageUp => (0xE049, 0xE07D),
        KeyboardKey.Left => (0xE04B, 0xE06B),
        KeyboardKey.Right => (0xE04D, 0xE074),
        KeyboardKey.End => (0xE04F, 0xE069),
        KeyboardKey.Down => (0xE050, 0xE072),
        KeyboardKey.PageDown => (0xE051, 0xE07A),
        KeyboardKey.Insert => (0xE052, 0xE070),
        KeyboardKey.Delete => (0xE053, 0xE071),
        KeyboardKey.LeftWindows => (0xE05B, 0xE01F),
        KeyboardKey.RightWindows => (0xE05C, 0xE027),
        KeyboardKey.Menu => (0xE05D, 0xE02F),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "Not a key with a plain make code."),
    };

    /// <summary>Whether <paramref name="key"/> is a defined key.</summary>
    public static bool IsDefined(KeyboardKey key) => key >= KeyboardKey.Escape && key <= KeyboardKey.Pause;

    /// <summary>Translates one set-2 byte to set 1 (without the F0h break prefix handling, which the controller does).</summary>
    public static byte TranslateToSet1(byte set2) => s_set2ToSet1[set2];

    /// <summary>Maps a character to the key that types it on a US layout, and whether Shift is needed.</summary>
    public static bool TryMapCharacter(char c, out KeyboardKey key, out bool shift)
    {
        shift = false;
        if (c is >= 'a' and <= 'z')
        {
            key = LetterKey(c - 'a');
            return true;
        }

        if (c is >= 'A' and <= 'Z')
        {
            key = LetterKey(c - 'A');
            shift = true;
            return true;
        }

        if (c is >= '1' and <= '9')
        {
            key = KeyboardKey.D1 + (c - '1');
            return true;
        }

        (key, shift) = c switch
        {
            '0' => (KeyboardKey.D0, false),
            ' ' => (KeyboardKey.Space, false),
            '\n' or '\r' => (KeyboardKey.Enter, false),
            '\t' => (KeyboardKey.Tab, false),
            '\b' => (KeyboardKey.Backspace, false),
            '\x1b' => (KeyboardKey.Escape, false),
            '-' => (KeyboardKey.Minus, false),
            '=' => (KeyboardKey.EqualsSign, false),
            '[' => (KeyboardKey.LeftBracket, false),
            ']' => (KeyboardKey.RightBracket, false),
            '\\' => (KeyboardKey.Backslash, false),
            ';' => (KeyboardKey.Semicolon, false),
            '\'' => (KeyboardKey.Apostrophe, false),
            '`' => (KeyboardKey.Grave, false),
            ',' => (KeyboardKey.Comma, false),
            '.' => (KeyboardKey.Period, false),
            '/' => (KeyboardKey.Slash, false),
            '!' => (KeyboardKey.D1, true),
            '@' => (KeyboardKey.D2, true),
            '#' => (KeyboardKey.D3, true),
            '$' => (KeyboardKey.D4, true),
            '%' => (KeyboardKey.D5, true),
            '^' => (KeyboardKey.D6, true),
            '&' => (KeyboardKey.D7, true),
            '*' => (KeyboardKey.D8, true),
            '(' => (KeyboardKey.D9, true),
            ')' => (KeyboardKey.D0, true),
            '_' => (KeyboardKey.Minus, true),
            '+' => (KeyboardKey.EqualsSign, true),
            '{' => (KeyboardKey.LeftBracket, true),
            '}' => (KeyboardKey.RightBracket, true),
            '|' => (KeyboardKey.Backslash, true),
            ':' => (KeyboardKey.Semicolon, true),
            '"' => (KeyboardKey.Apostrophe, true),
            '~' => (KeyboardKey.Grave, true),
            '<' => (KeyboardKey.Comma, true),
            '>' => (KeyboardKey.Period, true),
            '?' => (KeyboardKey.Slash, true),
            _ => ((KeyboardKey)(-1), false),
        };
        return key != (KeyboardKey)(-1);
    }

    private static KeyboardKey LetterKey(int index) => index switch
    {
        0 => KeyboardKey.A,
        1 => KeyboardKey.B,
        2 => KeyboardKey.C,
        3 => KeyboardKey.D,
        4 => KeyboardKey.E,
        5 => KeyboardKey.F,
        6 => KeyboardKey.G,
        7 => KeyboardKey.H,
        8 => KeyboardKey.I,
        9 => KeyboardKey.J,
        10 => KeyboardKey.K,
        11 => KeyboardKey.L,
        12 => KeyboardKey.M,
        13 => KeyboardKey.N,
        14 => KeyboardKey.O,
        15 => KeyboardKey.P,
        16 => KeyboardKey.Q,
        17 => KeyboardKey.R,
        18 => KeyboardKey.S,
        19 => KeyboardKey.T,
        20 => KeyboardKey.U,
        21 => KeyboardKey.V,
        22 => KeyboardKey.W,
        23 => KeyboardKey.X,
        24 => KeyboardKey.Y,
        _ => KeyboardKey.Z,
    };

    private static byte[] BuildTranslation()
    {
        // Start from the identity (codes no key of this table uses pass through unchanged; the real 8042's
        // table also maps those, see docs/devices-io.md), then map each key's set-2 byte to its set-1 byte.
        // Bytes 80h and above pass unchanged (FAh ACK, AAh BAT, E0h/E1h prefixes) except 83h (F7).
        byte[] table = new byte[256];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = (byte)i;
        }

        for (KeyboardKey key = KeyboardKey.Escape; key < KeyboardKey.PrintScreen; key++)
        {
            (ushort set1, ushort set2) = Codes(key);
            table[set2 & 0xFF] = (byte)set1;
        }

        // Codes no key sends but a guest sees through translation: the keyboard's answer to "F0h 00h"
        // (the current set, 1-3) reads 43h, 41h, 3Fh after translation, and 00h (key detection error) reads FFh.
        table[0x00] = 0xFF;
        table[0x02] = 0x41;
        table[0x03] = 0x3F;
        return table;
    }
}
