using Virt.Memory;

namespace Virt.Devices;

/// <summary>The CPU's view of a part of the legacy window A0000h-BFFFFh, starting <paramref name="firstOffset"/> bytes into it.</summary>
internal sealed class VgaMemoryWindow(VgaAdapter adapter, uint firstOffset, int sizeInBytes) : IMmioDevice
{
    public AccessWidths SupportedWidths => AccessWidths.All;

    public ulong Read(RegionOffset offset, int accessSizeInBytes)
    {
        ulong value = 0;
        for (int i = 0; i < accessSizeInBytes; i++)
        {
            value |= (ulong)adapter.ReadLegacy(firstOffset + (uint)((offset.Value + (ulong)i) & (ulong)(sizeInBytes - 1))) << (8 * i);
        }

        return value;
    }

    public void Write(RegionOffset offset, int accessSizeInBytes, ulong value)
    {
        for (int i = 0; i < accessSizeInBytes; i++)
        {
            adapter.WriteLegacy(firstOffset + (uint)((offset.Value + (ulong)i) & (ulong)(sizeInBytes - 1)), (byte)(value >> (8 * i)));
        }
    }
}
