using FsCheck.Xunit;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Machine.Tests.Boot.Firmware;

/// <summary>The CMOS boot-order bytes (3Dh, 38h) that SeaBIOS reads on an emulator.</summary>
public sealed class CmosBootOrderTests
{
    [Theory]
    [InlineData("cad", 0x12, 0x30)] // QEMU's default: hard disk, floppy, CD-ROM
    [InlineData("a", 0x01, 0x00)]
    [InlineData("dc", 0x23, 0x00)]
    [InlineData("ndc", 0x34, 0x20)]
    [InlineData("", 0x00, 0x00)]
    public void Encode_PutsTheFirstTwoIn3DhAndTheThirdIn38hHighNibble(string order, byte first, byte third)
    {
        Assert.Equal((first, third), CmosBootOrder.Encode(order));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("cc")]
    [InlineData("acdn")]
    public void Encode_RefusesUnknownRepeatedOrTooManyDevices(string order)
    {
        Assert.Throws<ArgumentException>(() => CmosBootOrder.Encode(order));
    }

    [Property]
    public bool Decode_InvertsEncode(uint choices, byte length)
    {
        // Any order of up to three distinct devices: pick each from what is left, driven by the random bits.
        var left = new List<char> { 'a', 'c', 'd', 'n' };
        var order = new System.Text.StringBuilder();
        for (int i = 0; i < length % 4; i++)
        {
            int pick = (int)(choices % (uint)left.Count);
            choices /= (uint)left.Count;
            order.Append(left[pick]);
            left.RemoveAt(pick);
        }

        (byte first, byte third) = CmosBootOrder.Encode(order.ToString());
        return CmosBootOrder.Decode(first, third) == order.ToString();
    }
}
