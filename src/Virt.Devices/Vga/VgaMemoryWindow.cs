using Virt.Memory;

namespace Virt.Devices;

/// <summary>The CPU's view of video memory at B8000h-BFFFFh.</summary>
internal sealed class VgaMemoryWindow(VgaAdapter adapter) : IMmioDevice
{
    public AccessWidths SupportedWidths => AccessWidths.All;

    public ulong Read(RegionOffset offset, int sizeInBytes)
    {
        ulong value = 0;
        for (int i = 0; i < sizeInBytes; i++)
        {
            value |= (ulong)adapter.ReadMemory((uint)((offset.Value + (ulong)i) & (VgaAdapter.TextMemorySizeInBytes - 1))) << (8 * i);
        }

        return value;
    }

    public void Write(RegionOffset offset, int sizeInBytes, ulong value)
    {
        for (int i = 0; i < sizeInBytes; i++)
        {
            adapter.WriteMemory((uint)((offset.Value + (ulong)i) & (VgaAdapter.TextMemorySizeInBytes - 1)), (byte)(value >> (8 * i)));
        }
    }
}
