namespace Virt.Machine.Boot;

/// <summary>
/// Offsets in the setup header and the zero page (<c>struct boot_params</c>), from the Linux
/// documentation: Documentation/arch/x86/boot.rst ("The Real-Mode Kernel Header") and
/// Documentation/arch/x86/zero-page.rst. The setup header sits at the same offset (1F1h) in the
/// kernel image and in the zero page.
/// </summary>
internal static class BootParamsLayout
{
    // zero-page.rst
    public const int ScreenInfo = 0x000;
    public const int ScreenInfoSize = 0x40;
    public const int ExtRamdiskImage = 0x0C0;
    public const int ExtRamdiskSize = 0x0C4;
    public const int ExtCmdLinePtr = 0x0C8;
    public const int AltMemK = 0x1E0;
    public const int E820Entries = 0x1E8;
    public const int Sentinel = 0x1EF;
    public const int E820Table = 0x2D0;
    public const int E820EntrySize = 20;
    public const int E820MaxEntries = 128;
    public const int Size = 0x1000;

    // screen_info (include/uapi/linux/screen_info.h)
    public const int OrigX = 0x00;
    public const int OrigY = 0x01;
    public const int ExtMemK = 0x02;
    public const int OrigVideoMode = 0x06;
    public const int OrigVideoCols = 0x07;
    public const int OrigVideoEgaBx = 0x0A;
    public const int OrigVideoLines = 0x0E;
    public const int OrigVideoIsVga = 0x0F;
    public const int OrigVideoPoints = 0x10;

    // boot.rst, the setup header
    public const int SetupHeader = 0x1F1;
    public const int SetupSects = 0x1F1;
    public const int SysSize = 0x1F4;
    public const int BootFlag = 0x1FE;
    public const int Jump = 0x200;
    public const int Header = 0x202;
    public const int Version = 0x206;
    public const int KernelVersion = 0x20E;
    public const int TypeOfLoader = 0x210;
    public const int LoadFlags = 0x211;
    public const int Code32Start = 0x214;
    public const int RamdiskImage = 0x218;
    public const int RamdiskSize = 0x21C;
    public const int HeapEndPtr = 0x224;
    public const int CmdLinePtr = 0x228;
    public const int InitrdAddrMax = 0x22C;
    public const int KernelAlignment = 0x230;
    public const int RelocatableKernel = 0x234;
    public const int MinAlignment = 0x235;
    public const int XLoadFlags = 0x236;
    public const int CmdlineSize = 0x238;
    public const int HardwareSubarch = 0x23C;
    public const int SetupData = 0x250;
    public const int PrefAddress = 0x258;
    public const int InitSize = 0x260;

    public const ushort BootFlagValue = 0xAA55;
    public const uint HeaderMagic = 0x5372_6448; // "HdrS" little-endian
    public const byte LoadedHigh = 0x01;
    public const byte CanUseHeap = 0x80;
}
