using Virt.Devices;
using Virt.Devices.Tests.Timing;

namespace Virt.Devices.Tests.Pic8259;

/// <summary>Drives a PIC pair with an arbitrary byte script (for property tests): port writes and reads, line changes, INTA.</summary>
internal static class PicScript
{
    private static readonly ushort[] s_ports = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1];

    public static void Run(Pic8259Pair pic, TimingTestPorts ports, InterruptLine[] lines, byte[] script)
    {
        for (int i = 0; i + 1 < script.Length; i += 2)
        {
            byte op = script[i];
            byte value = script[i + 1];
            switch (op % 4)
            {
                case 0:
                    ports.Out(s_ports[(op >> 2) % s_ports.Length], value);
                    break;
                case 1:
                    ports.In(s_ports[(op >> 2) % s_ports.Length]);
                    break;
                case 2:
                    int irq = value & 15;
                    if (irq != 2)
                    {
                        lines[irq].SetLevel((value & 0x80) != 0);
                    }

                    break;
                default:
                    pic.AcknowledgeInterrupt();
                    break;
            }
        }
    }
}
