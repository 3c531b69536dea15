namespace Virt.Devices;

/// <summary>The keyboard LEDs as the guest set them with command EDh (bit order of that command).</summary>
[Flags]
public enum KeyboardLeds
{
    /// <summary>All off.</summary>
    None = 0,

    /// <summary>Scroll Lock.</summary>
    ScrollLock = 1,

    /// <summary>Num Lock.</summary>
    NumLock = 2,

    /// <summary>Caps Lock.</summary>
    CapsLock = 4,
}
