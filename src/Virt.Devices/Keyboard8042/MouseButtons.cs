namespace Virt.Devices;

/// <summary>Mouse buttons held down; the values are the bits of a PS/2 movement packet's first byte.</summary>
[Flags]
public enum MouseButtons
{
    /// <summary>No button.</summary>
    None = 0,

    /// <summary>The left button.</summary>
    Left = 1,

    /// <summary>The right button.</summary>
    Right = 2,

    /// <summary>The middle button (or wheel press).</summary>
    Middle = 4,
}
