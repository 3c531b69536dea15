namespace Virt.Devices;

/// <summary>The kind of picture a <see cref="VgaAdapter"/> shows, from its registers.</summary>
public enum VgaDisplayMode
{
    /// <summary>Alphanumeric (graphics controller miscellaneous bit 0 clear): characters and attributes, glyphs from plane 2.</summary>
    Text,

    /// <summary>16 colours from four planes, one bit each (modes 0Dh, 0Eh, 10h, 12h).</summary>
    Graphics16Planar,

    /// <summary>4 colours, two bits a pixel from planes 0 and 1 (graphics mode bit 5, the CGA modes 04h and 05h).</summary>
    Graphics4Interleaved,

    /// <summary>256 colours, one byte a pixel (attribute mode bit 6: mode 13h and the unchained "mode X").</summary>
    Graphics256,

    /// <summary>A Bochs VBE mode (DISPI enabled): the linear framebuffer at 8, 15, 16, 24 or 32 bits per pixel.</summary>
    Vbe,
}
