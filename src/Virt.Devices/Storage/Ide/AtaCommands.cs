namespace Virt.Devices;

/// <summary>The ATA command codes the drives implement (ATA/ATAPI-7 volume 1, chapter 6; ATA-3 for the retired ones).</summary>
internal static class AtaCommands
{
    public const byte Nop = 0x00;
    public const byte DeviceReset = 0x08;
    public const byte RecalibrateFirst = 0x10;
    public const byte RecalibrateLast = 0x1F;
    public const byte ReadSectors = 0x20;
    public const byte ReadSectorsNoRetry = 0x21;
    public const byte ReadSectorsExt = 0x24;
    public const byte ReadDmaExt = 0x25;
    public const byte ReadMultipleExt = 0x29;
    public const byte WriteSectors = 0x30;
    public const byte WriteSectorsNoRetry = 0x31;
    public const byte WriteSectorsExt = 0x34;
    public const byte WriteDmaExt = 0x35;
    public const byte WriteMultipleExt = 0x39;
    public const byte ReadVerifySectors = 0x40;
    public const byte ReadVerifySectorsNoRetry = 0x41;
    public const byte ReadVerifySectorsExt = 0x42;
    public const byte SeekFirst = 0x70;
    public const byte SeekLast = 0x7F;
    public const byte ExecuteDeviceDiagnostic = 0x90;
    public const byte InitializeDeviceParameters = 0x91;
    public const byte StandbyImmediateRetired = 0x94;
    public const byte IdleImmediateRetired = 0x95;
    public const byte StandbyRetired = 0x96;
    public const byte IdleRetired = 0x97;
    public const byte CheckPowerModeRetired = 0x98;
    public const byte SleepRetired = 0x99;
    public const byte Packet = 0xA0;
    public const byte IdentifyPacketDevice = 0xA1;
    public const byte ReadMultiple = 0xC4;
    public const byte WriteMultiple = 0xC5;
    public const byte SetMultipleMode = 0xC6;
    public const byte ReadDma = 0xC8;
    public const byte ReadDmaNoRetry = 0xC9;
    public const byte WriteDma = 0xCA;
    public const byte WriteDmaNoRetry = 0xCB;
    public const byte StandbyImmediate = 0xE0;
    public const byte IdleImmediate = 0xE1;
    public const byte Standby = 0xE2;
    public const byte Idle = 0xE3;
    public const byte CheckPowerMode = 0xE5;
    public const byte Sleep = 0xE6;
    public const byte FlushCache = 0xE7;
    public const byte FlushCacheExt = 0xEA;
    public const byte IdentifyDevice = 0xEC;
    public const byte SetFeatures = 0xEF;

    // SET FEATURES subcommands (6.47).
    public const byte FeatureEnableWriteCache = 0x02;
    public const byte FeatureSetTransferMode = 0x03;
    public const byte FeatureDisableReadLookAhead = 0x55;
    public const byte FeatureDisableRevertToDefaults = 0x66;
    public const byte FeatureDisableWriteCache = 0x82;
    public const byte FeatureEnableReadLookAhead = 0xAA;
    public const byte FeatureEnableRevertToDefaults = 0xCC;

    // Transfer mode values in the sector count of SET FEATURES 03h: 00h/01h PIO default, 08h+n PIO n, 20h+n MWDMA n, 40h+n UDMA n.
    public const byte TransferModeTypeMask = 0xF8;
    public const byte TransferModeNumberMask = 0x07;
    public const byte TransferModePioDefault = 0x00;
    public const byte TransferModePioDefaultNoIordy = 0x01;
    public const byte TransferModePio = 0x08;
    public const byte TransferModeMultiwordDma = 0x20;
    public const byte TransferModeUltraDma = 0x40;

    /// <summary>CHECK POWER MODE's answer in the sector count: active or idle.</summary>
    public const byte PowerModeActiveOrIdle = 0xFF;
}
