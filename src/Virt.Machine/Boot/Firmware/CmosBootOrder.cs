namespace Virt.Machine.Boot;

/// <summary>
/// The legacy boot order in CMOS that the Bochs BIOS defined and SeaBIOS reads when it runs on an emulator: byte 3Dh holds
/// the first device in bits 3:0 and the second in bits 7:4, byte 38h the third in bits 7:4 (bit 0 set would skip the
/// floppy boot-sector signature check; left clear, as QEMU leaves it by default). Device codes: 1 floppy, 2 hard disk,
/// 3 CD-ROM, 4 network (boot entry vector); 0 ends the list.
/// </summary>
public static class CmosBootOrder
{
    /// <summary>CMOS byte with the first (bits 3:0) and second (bits 7:4) boot device.</summary>
    public const int FirstAndSecondOffset = 0x3D;

    /// <summary>CMOS byte with the third boot device (bits 7:4).</summary>
    public const int ThirdOffset = 0x38;

    /// <summary>Device code of the floppy drive.</summary>
    public const byte Floppy = 1;

    /// <summary>Device code of the first hard disk.</summary>
    public const byte HardDisk = 2;

    /// <summary>Device code of the CD-ROM.</summary>
    public const byte CdRom = 3;

    /// <summary>Device code of network boot.</summary>
    public const byte Network = 4;

    private const int MaxDevices = 3;
    private const int HighNibbleShift = 4;

    /// <summary>Encodes an order in QEMU's <c>-boot order=</c> letters into the two CMOS bytes.</summary>
    /// <param name="order">Up to three of <c>a</c> (floppy), <c>c</c> (hard disk), <c>d</c> (CD-ROM), <c>n</c> (network), no repeats; empty for none.</param>
    /// <returns>The values of bytes 3Dh and 38h.</returns>
    /// <exception cref="ArgumentException">A letter is unknown or repeated, or there are more than three.</exception>
    public static (byte FirstAndSecond, byte Third) Encode(string order)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (order.Length > MaxDevices)
        {
            throw new ArgumentException($"'{order}' names {order.Length} boot devices; CMOS holds at most {MaxDevices}.", nameof(order));
        }

        var codes = new byte[MaxDevices];
        for (int i = 0; i < order.Length; i++)
        {
            byte code = char.ToLowerInvariant(order[i]) switch
            {
                'a' => Floppy,
                'c' => HardDisk,
                'd' => CdRom,
                'n' => Network,
                _ => throw new ArgumentException($"'{order[i]}' in '{order}' is not a boot device (use a, c, d or n).", nameof(order)),
            };
            if (Array.IndexOf(codes, code, 0, i) >= 0)
            {
                throw new ArgumentException($"'{order[i]}' appears twice in '{order}'.", nameof(order));
            }

            codes[i] = code;
        }

        return ((byte)(codes[0] | (codes[1] << HighNibbleShift)), (byte)(codes[2] << HighNibbleShift));
    }

    /// <summary>Decodes the two CMOS bytes back into QEMU's letters, stopping at the first empty slot.</summary>
    /// <param name="firstAndSecond">Byte 3Dh.</param>
    /// <param name="third">Byte 38h.</param>
    /// <returns>The order, for example <c>"cad"</c>.</returns>
    public static string Decode(byte firstAndSecond, byte third)
    {
        var letters = new System.Text.StringBuilder(MaxDevices);
        foreach (int code in new[] { firstAndSecond & 0xF, firstAndSecond >> HighNibbleShift, third >> HighNibbleShift })
        {
            char? letter = code switch
            {
                Floppy => 'a',
                HardDisk => 'c',
                CdRom => 'd',
                Network => 'n',
                _ => null,
            };
            if (letter is null)
            {
                break;
            }

            letters.Append(letter.Value);
        }

        return letters.ToString();
    }
}
